using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using GpuDev.Core.Compute;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.Kubernetes;

/// <summary>Watches on the environment pods and on the nodes: a pod that fails or is evicted, a node that goes away,
/// an image that cannot be pulled and an unschedulable pod become events; a node change asks for a new inventory. Each
/// watch starts with a list (so what happened while the server was down is seen) and resumes from the last
/// resourceVersion after the API server closes it.</summary>
/// <param name="removing">Reservations whose objects this process is deleting, so their pods' deletion is not reported as a failure.</param>
internal sealed class EnvironmentWatch(
    IKubernetes client, KubernetesOptions options, NodeInventory nodes, ConcurrentDictionary<string, DateTimeOffset> removing, TimeProvider time, ILogger logger)
{
    private static readonly TimeSpan s_rewatchDelay = TimeSpan.FromSeconds(1);

    private string Ns => options.Namespace;

    public async IAsyncEnumerable<EnvironmentEvent> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<EnvironmentEvent>(new UnboundedChannelOptions { SingleReader = true });
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var podsOnNode = new ConcurrentDictionary<string, (string Reservation, string? Node)>(StringComparer.Ordinal);
        var loops = Task.WhenAll(
            RunWatchAsync("pods", ct => WatchPodsAsync(channel.Writer, podsOnNode, ct), cts.Token),
            RunWatchAsync("nodes", ct => WatchNodesAsync(channel.Writer, podsOnNode, ct), cts.Token));
        try
        {
            await foreach (var e in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return e;
            }
        }
        finally
        {
            await cts.CancelAsync();
            try
            {
                await loops;
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task RunWatchAsync(string what, Func<CancellationToken, Task> watch, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await watch(cancellationToken);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested)
            {
                Log.WatchBroke(logger, what, e.Message);
                await Task.Delay(s_rewatchDelay, time, cancellationToken);
            }
        }
    }

    /// <summary>One list, then watches resumed from the last resourceVersion until the server says it is too old (410).</summary>
    private async Task WatchPodsAsync(ChannelWriter<EnvironmentEvent> events, ConcurrentDictionary<string, (string Reservation, string? Node)> podsOnNode, CancellationToken cancellationToken)
    {
        var selector = $"{K8sNames.ManagedSelector},{K8sNames.Role}={K8sNames.EnvironmentRole}";
        var list = await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken);
        var reported = new Dictionary<string, string>(StringComparer.Ordinal);
        podsOnNode.Clear();
        foreach (var pod in list.Items)
        {
            Observe(WatchEventType.Added, pod, events, podsOnNode, reported);
        }

        var resourceVersion = list.Metadata?.ResourceVersion;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var (type, pod) in client.CoreV1.WatchListNamespacedPodAsync(Ns, labelSelector: selector, resourceVersion: resourceVersion,
                    allowWatchBookmarks: true, timeoutSeconds: 300, cancellationToken: cancellationToken))
                {
                    resourceVersion = pod.Metadata?.ResourceVersion ?? resourceVersion;
                    Observe(type, pod, events, podsOnNode, reported);
                }
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
            {
                return;
            }
            catch (KubernetesException e) when (e.Status?.Code == 410)
            {
                return;
            }
        }
    }

    private void Observe(WatchEventType type, V1Pod pod, ChannelWriter<EnvironmentEvent> events,
        ConcurrentDictionary<string, (string Reservation, string? Node)> podsOnNode, Dictionary<string, string> reported)
    {
        if (type == WatchEventType.Bookmark || pod.Metadata?.Labels is not { } labels || !labels.TryGetValue(K8sNames.Reservation, out var id))
        {
            return;
        }

        var name = pod.Metadata.Name;
        if (type == WatchEventType.Deleted)
        {
            podsOnNode.TryRemove(name, out _);
            reported.Remove(name);
            if (!removing.ContainsKey(id))
            {
                events.TryWrite(new EnvironmentEvent(EnvironmentEventKind.Failed, id, $"pod {name} was deleted outside gpu-dev") { OnlyWhenActive = true });
            }

            return;
        }

        podsOnNode[name] = (id, pod.Spec?.NodeName);
        string key;
        EnvironmentEvent e;
        if (ObjectFacts.IsTerminal(pod))
        {
            var message = ObjectFacts.DescribeEnded(pod);
            (key, e) = ("ended", new EnvironmentEvent(EnvironmentEventKind.Failed, id, message));
        }
        else if (pod.Status?.Phase == "Pending" && ObjectFacts.DescribeWaiting(pod) is { } waiting && !waiting.EndsWith(" is pending", StringComparison.Ordinal))
        {
            (key, e) = (waiting, new EnvironmentEvent(EnvironmentEventKind.Progress, id, waiting));
        }
        else
        {
            return;
        }

        if (removing.ContainsKey(id) || (reported.TryGetValue(name, out var last) && last == key))
        {
            return;
        }

        reported[name] = key;
        events.TryWrite(e);
    }

    private async Task WatchNodesAsync(ChannelWriter<EnvironmentEvent> events, ConcurrentDictionary<string, (string Reservation, string? Node)> podsOnNode, CancellationToken cancellationToken)
    {
        var list = await client.CoreV1.ListNodeAsync(cancellationToken: cancellationToken);
        var seen = list.Items.ToDictionary(n => n.Metadata.Name, nodes.Fingerprint, StringComparer.Ordinal);
        events.TryWrite(new EnvironmentEvent(EnvironmentEventKind.NodesChanged, null, "node inventory listed"));
        var resourceVersion = list.Metadata?.ResourceVersion;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var (type, node) in client.CoreV1.WatchListNodeAsync(resourceVersion: resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 300,
                    cancellationToken: cancellationToken))
                {
                    resourceVersion = node.Metadata?.ResourceVersion ?? resourceVersion;
                    var name = node.Metadata?.Name;
                    if (type == WatchEventType.Bookmark || name is null)
                    {
                        continue;
                    }

                    if (type == WatchEventType.Deleted)
                    {
                        seen.Remove(name);
                        foreach (var (_, (reservation, onNode)) in podsOnNode.Where(p => p.Value.Node == name))
                        {
                            events.TryWrite(new EnvironmentEvent(EnvironmentEventKind.Failed, reservation, $"node {name} was removed from the cluster"));
                        }

                        events.TryWrite(new EnvironmentEvent(EnvironmentEventKind.NodesChanged, null, $"node {name} removed"));
                        continue;
                    }

                    var fingerprint = nodes.Fingerprint(node);
                    if (!seen.TryGetValue(name, out var before) || before != fingerprint)
                    {
                        seen[name] = fingerprint;
                        events.TryWrite(new EnvironmentEvent(EnvironmentEventKind.NodesChanged, null, $"node {name} changed"));
                    }
                }
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Gone)
            {
                return;
            }
            catch (KubernetesException e) when (e.Status?.Code == 410)
            {
                return;
            }
        }
    }
}

using GpuDev.Core.Compute;
using k8s;
using k8s.Models;

namespace GpuDev.Compute.Kubernetes;

/// <summary>The state of an environment from its pods: Failed when one has ended, Starting while one is missing, waiting or its
/// sshd does not answer, Ready only after an SSH key exchange through every rank's NodePort presented the host key gpu-dev
/// generated for it.</summary>
internal sealed class EnvironmentReadiness(IKubernetes client, KubernetesOptions options, NodeInventory nodes)
{
    private string Ns => options.Namespace;

    /// <summary>The environment pods of the reservation (every rank; no build pods).</summary>
    public async Task<IReadOnlyList<V1Pod>> PodsAsync(string id, CancellationToken cancellationToken) =>
        [.. (await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: $"{K8sNames.OfReservation(id)},{K8sNames.Role}={K8sNames.EnvironmentRole}",
            cancellationToken: cancellationToken)).Items];

    /// <summary>Waits (up to <see cref="KubernetesOptions.ReadyWait"/>) until every rank's pod runs or one has ended, with
    /// a watch, so a pod that starts is seen at once rather than at the next poll.</summary>
    public async Task<IReadOnlyList<V1Pod>> WaitForPodsAsync(string id, int worldSize, CancellationToken cancellationToken)
    {
        var selector = $"{K8sNames.OfReservation(id)},{K8sNames.Role}={K8sNames.EnvironmentRole}";
        var list = await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken);
        var pods = list.Items.ToDictionary(p => p.Metadata.Name, StringComparer.Ordinal);
        if (Settled(pods.Values, worldSize) || options.ReadyWait <= TimeSpan.Zero)
        {
            return [.. pods.Values];
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(options.ReadyWait);
        try
        {
            await foreach (var (type, pod) in client.CoreV1.WatchListNamespacedPodAsync(Ns, labelSelector: selector, resourceVersion: list.Metadata?.ResourceVersion,
                timeoutSeconds: (int)Math.Ceiling(options.ReadyWait.TotalSeconds), cancellationToken: cts.Token))
            {
                if (type == WatchEventType.Deleted)
                {
                    pods.Remove(pod.Metadata.Name);
                }
                else if (type is WatchEventType.Added or WatchEventType.Modified)
                {
                    pods[pod.Metadata.Name] = pod;
                }

                if (Settled(pods.Values, worldSize))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // ReadyWait is over: report what there is; the caller asks again.
        }

        return [.. pods.Values];
    }

    /// <param name="nodePorts">NodePorts already known (from creating the services), by rank; others are read.</param>
    /// <param name="addresses">Node addresses already known, by node name; others are read.</param>
    public async Task<EnvironmentStatus> StatusAsync(string id, int worldSize, IReadOnlyList<V1Pod> pods, string hostKey, bool preserveEntrypoint,
        CancellationToken cancellationToken, IReadOnlyDictionary<int, int>? nodePorts = null, IReadOnlyDictionary<string, string>? addresses = null)
    {
        if (pods.FirstOrDefault(ObjectFacts.IsTerminal) is { } ended)
        {
            return new EnvironmentStatus(EnvironmentState.Failed, null, ObjectFacts.DescribeEnded(ended));
        }

        if (pods.Count < worldSize)
        {
            return new EnvironmentStatus(EnvironmentState.Starting, null, $"{pods.Count} of {worldSize} pods exist");
        }

        if (pods.FirstOrDefault(p => p.Status?.Phase != "Running") is { } waiting)
        {
            return new EnvironmentStatus(EnvironmentState.Starting, null, ObjectFacts.DescribeWaiting(waiting));
        }

        var endpoints = new List<Core.Reservations.SshEndpoint>();
        foreach (var pod in pods.OrderBy(ObjectFacts.RankOf))
        {
            var rank = ObjectFacts.RankOf(pod);
            if (nodePorts?.GetValueOrDefault(rank) is not { } nodePort || nodePort == 0)
            {
                var service = await ApiCalls.OrNullAsync(() => client.CoreV1.ReadNamespacedServiceAsync(K8sNames.SshService(id, rank), Ns, cancellationToken: cancellationToken));
                if (service?.Spec?.Ports?.FirstOrDefault()?.NodePort is not { } read)
                {
                    return new EnvironmentStatus(EnvironmentState.Starting, null, $"the SSH service of rank {rank} has no NodePort yet");
                }

                nodePort = read;
            }

            var host = addresses?.GetValueOrDefault(pod.Spec.NodeName) ?? await nodes.AddressAsync(pod.Spec.NodeName, pod, cancellationToken);
            if (!preserveEntrypoint && !await SshTools.HandshakeAsync(host, nodePort, hostKey, cancellationToken))
            {
                return new EnvironmentStatus(EnvironmentState.Starting, null, $"rank {rank}: sshd at {host}:{nodePort} does not answer yet");
            }

            endpoints.Add(new Core.Reservations.SshEndpoint(host, nodePort, "dev", hostKey));
        }

        return new EnvironmentStatus(EnvironmentState.Ready, endpoints[0]) { NodeEndpoints = endpoints.Count > 1 ? endpoints : null };
    }

    private static bool Settled(IEnumerable<V1Pod> pods, int worldSize)
    {
        var list = pods.ToList();
        return list.Any(ObjectFacts.IsTerminal) || (list.Count >= worldSize && list.All(p => p.Status?.Phase == "Running"));
    }
}

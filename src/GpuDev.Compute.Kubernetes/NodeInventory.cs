using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.Kubernetes;

/// <summary>The cluster's GPU nodes as gpu-dev sees them: their GPU type (from <see cref="KubernetesOptions.GpuTypeLabel"/> or the
/// instance type), the GPUs other workloads leave free, whether they take pods, and the address clients reach NodePorts at.</summary>
internal sealed class NodeInventory(IKubernetes client, KubernetesOptions options, GpuCatalog catalog, ILogger logger)
{
    public async Task<IReadOnlyList<ComputeNode>> DiscoverAsync(CancellationToken cancellationToken)
    {
        var nodes = await client.CoreV1.ListNodeAsync(cancellationToken: cancellationToken);
        var pods = await client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: cancellationToken);
        var usedByOthers = pods.Items
            .Where(p => p.Spec?.NodeName is not null && !ObjectFacts.IsTerminal(p) && !ObjectFacts.IsOurs(p.Metadata))
            .GroupBy(p => p.Spec.NodeName)
            .ToDictionary(g => g.Key, g => g.Sum(ObjectFacts.GpusOf), StringComparer.Ordinal);

        var result = new List<ComputeNode>();
        foreach (var node in nodes.Items)
        {
            if (GpuTypeOf(node) is not { } type || !IsSchedulable(node))
            {
                continue;
            }

            var gpus = (int)Quantities.Of(node.Status?.Allocatable, K8sNames.Gpu) - usedByOthers.GetValueOrDefault(node.Metadata.Name);
            if (gpus <= 0 && !type.IsCpuOnly)
            {
                continue;
            }

            result.Add(new ComputeNode(node.Metadata.Name, type.Name, Math.Max(0, gpus), Simulated: false,
                new Dictionary<string, string>(node.Metadata.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal)));
        }

        Log.Discovered(logger, result.Count, nodes.Items.Count);
        return result;
    }

    public GpuType? GpuTypeOf(V1Node node)
    {
        var labels = node.Metadata?.Labels ?? new Dictionary<string, string>();
        if (!string.IsNullOrEmpty(options.GpuTypeLabel))
        {
            return labels.TryGetValue(options.GpuTypeLabel, out var name) ? catalog.Find(name) : null;
        }

        return labels.TryGetValue(K8sNames.InstanceTypeLabel, out var instanceType)
            ? catalog.Types.FirstOrDefault(t => string.Equals(t.InstanceType, instanceType, StringComparison.OrdinalIgnoreCase))
            : null;
    }

    public static bool IsSchedulable(V1Node node) =>
        node.Spec?.Unschedulable != true
        && node.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    /// <summary>What a pod built for the node needs to know of it (its allocatable resources).</summary>
    public static EnvironmentObjects.NodeFacts FactsOf(V1Node node) => new(
        node.Metadata.Name,
        Quantities.Of(node.Status?.Allocatable, "cpu"),
        Quantities.Of(node.Status?.Allocatable, "memory"),
        (int)Quantities.Of(node.Status?.Allocatable, K8sNames.Gpu),
        (int)Quantities.Of(node.Status?.Allocatable, K8sNames.Efa));

    /// <summary>The node's address of <see cref="KubernetesOptions.NodeAddressType"/>; null when it has none.</summary>
    public string? AddressOf(V1Node node) => node.Status?.Addresses?.FirstOrDefault(a => a.Type == options.NodeAddressType)?.Address;

    /// <summary>The address of the pod's node, else the pod's host IP.</summary>
    public async Task<string> AddressAsync(string nodeName, V1Pod pod, CancellationToken cancellationToken)
    {
        var node = await ApiCalls.OrNullAsync(() => client.CoreV1.ReadNodeAsync(nodeName, cancellationToken: cancellationToken));
        return (node is null ? null : AddressOf(node))
            ?? pod.Status?.HostIP
            ?? throw new InvalidOperationException($"node {nodeName} has no {options.NodeAddressType} address");
    }

    /// <summary>What of a node matters to the inventory (not its heartbeats).</summary>
    public string Fingerprint(V1Node node) => string.Join('|',
        IsSchedulable(node),
        GpuTypeOf(node)?.Name,
        Quantities.Of(node.Status?.Allocatable, K8sNames.Gpu),
        string.Join(',', (node.Metadata.Labels ?? new Dictionary<string, string>()).OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")));
}

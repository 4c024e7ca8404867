namespace GpuDev.Core.Compute;

/// <summary>Implemented by providers whose fleet grows on demand (Kubernetes with the cluster autoscaler or Karpenter): a
/// request that today's nodes can never hold but that fits once a node group has grown is queued rather than refused,
/// and the provider is told which requests wait for new nodes so the autoscaler can see that demand. The local provider
/// has a fixed fleet and does not implement it.</summary>
public interface INodeGroups
{
    /// <summary>The configured node groups with how many nodes each has now (Ready or not: they count against the maximum).</summary>
    Task<IReadOnlyList<NodeGroup>> ListNodeGroupsAsync(CancellationToken cancellationToken);

    /// <summary>Makes the provider's demand signals (e.g. placeholder pods the autoscaler reacts to) match
    /// <paramref name="demand"/> exactly: signals for requests no longer in it (started, cancelled, fitting today's
    /// nodes) are removed, missing ones created. Safe to repeat and to call after a crash: the provider keeps no state
    /// between calls that is not in the cluster.</summary>
    Task ReconcileDemandAsync(IReadOnlyList<NodeDemand> demand, CancellationToken cancellationToken);
}

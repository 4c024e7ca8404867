namespace GpuDev.Core.Compute;

/// <summary>A group of identical nodes the cluster can grow (an EKS node group behind the cluster autoscaler, a Karpenter
/// NodePool).</summary>
/// <param name="Name">The group's name, as configured (shown to users in wait reasons).</param>
/// <param name="GpuType">Catalog type name of its nodes.</param>
/// <param name="GpusPerNode">GPUs each new node brings.</param>
/// <param name="MaxNodes">How many nodes the group can have at most.</param>
/// <param name="CurrentNodes">How many nodes it has now.</param>
/// <param name="Labels">Labels its new nodes will carry (for <c>--node-label</c> requests), including the one that recognises them.</param>
public sealed record NodeGroup(string Name, string GpuType, int GpusPerNode, int MaxNodes, int CurrentNodes, IReadOnlyDictionary<string, string> Labels)
{
    /// <summary>Nodes the group can still add.</summary>
    public int Headroom => Math.Max(0, MaxNodes - CurrentNodes);
}

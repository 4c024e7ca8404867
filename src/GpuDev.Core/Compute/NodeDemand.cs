namespace GpuDev.Core.Compute;

/// <summary>A waiting request that needs <paramref name="Nodes"/> new nodes of one node group to start.</summary>
/// <param name="ReservationId">The waiting reservation.</param>
/// <param name="Group">The node group that is to grow.</param>
/// <param name="Nodes">How many new nodes it needs from that group.</param>
/// <param name="GpusPerNode">GPUs it will use on each of them.</param>
/// <param name="NodeLabels">Its <c>--node-label</c> labels (the new nodes must carry them).</param>
public sealed record NodeDemand(string ReservationId, string Group, int Nodes, int GpusPerNode, IReadOnlyDictionary<string, string> NodeLabels);

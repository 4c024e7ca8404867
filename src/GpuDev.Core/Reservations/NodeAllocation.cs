namespace GpuDev.Core.Reservations;

/// <summary>The GPUs a reservation holds on one node. <see cref="Rank"/> is the node's index 0..N-1.</summary>
public sealed record NodeAllocation(int Rank, string Node, IReadOnlyList<int> GpuIndices)
{
    /// <summary>Where this node of the reservation answers ssh, once active (multinode: one per rank).</summary>
    public SshEndpoint? Ssh { get; init; }
}

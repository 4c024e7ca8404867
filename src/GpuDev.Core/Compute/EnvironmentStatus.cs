using GpuDev.Core.Reservations;

namespace GpuDev.Core.Compute;

/// <summary>What a provider reports about one environment. <see cref="Ssh"/> (rank 0) is set once it is known.</summary>
public sealed record EnvironmentStatus(EnvironmentState State, SshEndpoint? Ssh, string? Message = null)
{
    /// <summary>Multinode: the endpoint of every rank, in rank order (rank 0 equals <see cref="Ssh"/>). Null for one node.</summary>
    public IReadOnlyList<SshEndpoint>? NodeEndpoints { get; init; }
}

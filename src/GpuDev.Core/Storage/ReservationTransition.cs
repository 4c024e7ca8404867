using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;

namespace GpuDev.Core.Storage;

/// <summary>A status change and everything that commits with it, in one transaction.</summary>
public sealed record ReservationTransition(string ReservationId, ReservationStatus From, ReservationStatus To, string Reason, DateTimeOffset At)
{
    /// <summary>GPUs to take (the store refuses any that another reservation holds).</summary>
    public IReadOnlyList<NodeAllocation>? Allocate { get; init; }

    public SshEndpoint? Ssh { get; init; }

    /// <summary>Per-rank endpoints of a multinode reservation, in rank order.</summary>
    public IReadOnlyList<SshEndpoint>? NodeEndpoints { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    public DateTimeOffset? EndedAt { get; init; }

    public JobRequest? FollowUp { get; init; }

    /// <summary>Whether Jupyter runs, with its URL, set with the status (null: unchanged), so that no reader sees an active
    /// reservation whose Jupyter is still being recorded.</summary>
    public bool? Jupyter { get; init; }

    public string? JupyterUrl { get; init; }
}

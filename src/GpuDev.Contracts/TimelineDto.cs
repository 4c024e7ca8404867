namespace GpuDev.Contracts;

/// <summary><c>GET /api/v1/timeline</c>: every node's GPUs from now to the end of the last booking: what runs until its
/// end, and what waits at its guaranteed start on the node it is booked on (the data behind the dashboard's timeline).</summary>
public sealed record TimelineResponse(DateTimeOffset At, DateTimeOffset Until, IReadOnlyList<TimelineNodeDto> Nodes);

/// <summary>One node and what holds or will hold its GPUs, by start.</summary>
public sealed record TimelineNodeDto(string Name, string GpuType, int Gpus, bool Simulated, IReadOnlyList<TimelineItemDto> Items);

/// <summary>One reservation's GPUs on one node over time.</summary>
public sealed record TimelineItemDto
{
    public required string ReservationId { get; init; }

    public required string User { get; init; }

    /// <summary>The caller's own reservation.</summary>
    public bool Mine { get; init; }

    /// <summary><c>active</c> or <c>preparing</c> (holding GPUs now), <c>queued</c> (booked), or <c>ending</c> (being torn down).</summary>
    public required string Status { get; init; }

    /// <summary>GPUs on this node.</summary>
    public int Gpus { get; init; }

    /// <summary>When it started (running) or its guaranteed start (queued).</summary>
    public DateTimeOffset Start { get; init; }

    /// <summary>Its booked end: when the GPUs are free again if nothing ends early.</summary>
    public DateTimeOffset End { get; init; }

    /// <summary>Queued: the likely start, when sooner than <see cref="Start"/>.</summary>
    public DateTimeOffset? LikelyStart { get; init; }

    /// <summary>Running: the likely end, when sooner than <see cref="End"/> (from how reservations here usually end).</summary>
    public DateTimeOffset? LikelyEnd { get; init; }

    /// <summary>Name and why it waits: only for the owner, added users and admins (like <c>list --user all</c>).</summary>
    public string? Name { get; init; }

    public string? Reason { get; init; }
}

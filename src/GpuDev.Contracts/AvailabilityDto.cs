namespace GpuDev.Contracts;

/// <summary>One GPU type in <c>GET /api/v1/availability</c> (<c>gpu-dev avail</c>).</summary>
public sealed record GpuAvailabilityDto
{
    public required string GpuType { get; init; }

    public int GpusPerNode { get; init; }

    public int Nodes { get; init; }

    public int Total { get; init; }

    /// <summary>GPUs not held by any reservation now.</summary>
    public int Free { get; init; }

    /// <summary>Most free GPUs on one node (what a single-node request can get now).</summary>
    public int LargestFreeBlock { get; init; }

    public string? LargestFreeBlockNode { get; init; }

    /// <summary>Requests of this type waiting (pending or queued), and the GPUs they ask for.</summary>
    public int Queued { get; init; }

    public int QueuedGpus { get; init; }

    /// <summary>When the next GPU of this type frees up (null: one is free now, or nothing is running).</summary>
    public DateTimeOffset? NextFreeAt { get; init; }

    /// <summary>When a whole node of this type is free (now if one is; null if none ever will be).</summary>
    public DateTimeOffset? FullNodeFreeAt { get; init; }

    /// <summary><see cref="NextFreeAt"/> if reservations end when they likely will (from how reservations here usually
    /// end), not at their booked end; never later than it.</summary>
    public DateTimeOffset? LikelyNextFreeAt { get; init; }

    /// <summary><see cref="FullNodeFreeAt"/> on likely ends; never later than it.</summary>
    public DateTimeOffset? LikelyFullNodeFreeAt { get; init; }

    public bool Simulated { get; init; }
}

public sealed record AvailabilityResponse(DateTimeOffset At, IReadOnlyList<GpuAvailabilityDto> Types);

/// <summary><c>GET /api/v1/status</c> (<c>gpu-dev status</c>): the fleet at a glance.</summary>
public sealed record ClusterStatusDto
{
    public required string Provider { get; init; }

    public DateTimeOffset At { get; init; }

    public int Nodes { get; init; }

    public int TotalGpus { get; init; }

    public int ReservedGpus { get; init; }

    public int FreeGpus { get; init; }

    public int ActiveReservations { get; init; }

    public int PreparingReservations { get; init; }

    public int QueuedReservations { get; init; }

    public IReadOnlyList<NodeStatusDto> NodeList { get; init; } = [];
}

public sealed record NodeStatusDto(string Name, string GpuType, int GpuCount, int FreeGpus, bool Simulated);

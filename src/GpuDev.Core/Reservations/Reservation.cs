namespace GpuDev.Core.Reservations;

public sealed record Reservation
{
    public required string Id { get; init; }

    public required string UserId { get; init; }

    public required string UserName { get; init; }

    public string? Name { get; init; }

    public required string GpuType { get; init; }

    public int GpuCount { get; init; }

    public double Hours { get; init; }

    public int NodeCount { get; init; } = 1;

    public bool Jupyter { get; init; }

    public bool Distributed { get; init; }

    public ReservationStatus Status { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    public DateTimeOffset? EndedAt { get; init; }

    public string? StatusReason { get; init; }

    public SshEndpoint? Ssh { get; init; }

    public IReadOnlyList<NodeAllocation> Allocations { get; init; } = [];

    public IReadOnlyList<HistoryEntry> History { get; init; } = [];

    /// <summary>Position in the queue (1 = next) while queued; filled in by the scheduler view.</summary>
    public int? QueuePosition { get; init; }

    /// <summary>The guaranteed start while waiting: exact if nothing ends early, never later than told before.</summary>
    public DateTimeOffset? EstimatedStartAt { get; init; }

    /// <summary>The likely start while waiting, from how reservations usually end (never after <see cref="EstimatedStartAt"/>).</summary>
    public DateTimeOffset? LikelyStartAt { get; init; }

    /// <summary>The nodes the guaranteed start is booked on while waiting (the scheduler's own bookkeeping).</summary>
    public IReadOnlyList<string> PlannedNodes { get; init; } = [];

    public string? WaitReason { get; init; }

    /// <summary>Hours added by the one extension allowed (0 until extended).</summary>
    public double ExtendedHours { get; init; }

    /// <summary>When the extension was made (null until extended): expiry warnings count from there.</summary>
    public DateTimeOffset? ExtendedAt { get; init; }

    public string? JupyterUrl { get; init; }

    /// <summary>GitHub logins of secondary users: they may see and connect, not cancel or edit.</summary>
    public IReadOnlyList<string> AddedUsers { get; init; } = [];

    /// <summary>Expiry warnings delivered so far.</summary>
    public IReadOnlyList<ExpiryWarning> Warnings { get; init; } = [];

    /// <summary>The named disk mounted as the home; null for a temporary home.</summary>
    public string? DiskId { get; init; }

    public string? DiskName { get; init; }

    /// <summary>Re-create the shell dotfiles on the disk when the environment is first built.</summary>
    public bool RecreateEnv { get; init; }

    /// <summary>Custom image and node-label placement; <see cref="EnvironmentOptions.None"/> for the defaults.</summary>
    public EnvironmentOptions Options { get; init; } = EnvironmentOptions.None;
}

namespace GpuDev.Contracts;

/// <summary>A reservation as the API and <c>gpu-dev show --json</c> present it. Field names are stable.</summary>
public sealed record ReservationDto
{
    public required string Id { get; init; }

    public string? Name { get; init; }

    public required string User { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>pending, queued, preparing, active, expired, cancelled or failed.</summary>
    public required string Status { get; init; }

    /// <summary>Why the reservation is in its status (e.g. the failure reason), when there is one.</summary>
    public string? StatusReason { get; init; }

    public required string GpuType { get; init; }

    public required int GpuCount { get; init; }

    public required double Hours { get; init; }

    public int NodeCount { get; init; } = 1;

    public bool Jupyter { get; init; }

    /// <summary>The named disk mounted as the home; null for a temporary home.</summary>
    public string? Disk { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? ExpiresAt { get; init; }

    public DateTimeOffset? EndedAt { get; init; }

    public SshInfoDto? Ssh { get; init; }

    public int? QueuePosition { get; init; }

    /// <summary>The guaranteed start while waiting: exact if no reservation ends early, and never later than told before
    /// (null: unknown with the fleet as it is).</summary>
    public DateTimeOffset? EstimatedStartAt { get; init; }

    /// <summary>The likely start while waiting, from how reservations on this site usually end (their used ÷ booked time);
    /// never after <see cref="EstimatedStartAt"/>, to the nearest 5 minutes.</summary>
    public DateTimeOffset? LikelyStartAt { get; init; }

    public string? WaitReason { get; init; }

    public IReadOnlyList<NodeAllocationDto> Nodes { get; init; } = [];

    /// <summary>Jupyter Lab URL with its token while Jupyter runs (owner and added users only).</summary>
    public string? JupyterUrl { get; init; }

    /// <summary>Hours added by <c>edit --extend</c> (0 until extended; at most once).</summary>
    public double ExtendedHours { get; init; }

    /// <summary>Secondary users (GitHub logins) added with <c>edit --add-user</c>.</summary>
    public IReadOnlyList<string> AddedUsers { get; init; } = [];

    /// <summary>Expiry warnings already delivered (30, 15 and 5 minutes before the end).</summary>
    public IReadOnlyList<WarningDto> Warnings { get; init; } = [];

    /// <summary>What the caller may do: true when the caller owns it (or is an admin); false for an added user.</summary>
    public bool CanEdit { get; init; } = true;

    public IReadOnlyList<HistoryEntryDto> History { get; init; } = [];
}

public sealed record SshInfoDto
{
    public required string Host { get; init; }

    public required int Port { get; init; }

    public required string User { get; init; }

    /// <summary>A ready-to-run command, e.g. <c>ssh -p 30001 dev@127.0.0.1</c>.</summary>
    public required string Command { get; init; }

    /// <summary>The sshd's public host key (<c>type base64</c>), so clients can pin it in known_hosts.</summary>
    public string? HostKey { get; init; }
}

public sealed record NodeAllocationDto(int Rank, string Node, IReadOnlyList<int> GpuIndices)
{
    /// <summary>How to reach this node of the reservation (multinode: one per rank); null when not active or not yours.</summary>
    public SshInfoDto? Ssh { get; init; }
}

public sealed record HistoryEntryDto(DateTimeOffset At, string? From, string To, string Reason);

/// <summary>An expiry warning sent to the reservation: when, and how many minutes before the end it was.</summary>
public sealed record WarningDto(DateTimeOffset At, int MinutesBefore, string Message);

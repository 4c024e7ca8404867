namespace GpuDev.Core.Disks;

/// <summary>A user's named persistent disk. <see cref="Id"/> is stable (rename keeps it, and with it every snapshot).</summary>
public sealed record Disk
{
    public required string Id { get; init; }

    public required string UserId { get; init; }

    public required string UserName { get; init; }

    public required string Name { get; init; }

    public DiskStatus Status { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? LastUsedAt { get; init; }

    /// <summary>The reservation holding it (in use or being backed up after it ended).</summary>
    public string? AttachedReservationId { get; init; }

    public long SizeBytes { get; init; }

    public DateTimeOffset? DeletedAt { get; init; }

    public DateTimeOffset? PurgeAt { get; init; }

    public int SnapshotCount { get; init; }

    public string? LatestSnapshotId { get; init; }

    public DateTimeOffset? LatestSnapshotAt { get; init; }
}

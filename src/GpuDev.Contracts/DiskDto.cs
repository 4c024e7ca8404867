namespace GpuDev.Contracts;

/// <summary>A named persistent disk (<c>gpu-dev disk list</c>).</summary>
public sealed record DiskDto
{
    public required string Name { get; init; }

    public required string User { get; init; }

    /// <summary>available, in-use, backing-up or deleted.</summary>
    public required string Status { get; init; }

    public long SizeBytes { get; init; }

    public long QuotaBytes { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? LastUsedAt { get; init; }

    public int SnapshotCount { get; init; }

    public DateTimeOffset? LatestSnapshotAt { get; init; }

    /// <summary>The reservation holding it while in use.</summary>
    public string? AttachedTo { get; init; }

    public DateTimeOffset? DeletedAt { get; init; }

    /// <summary>When a deleted disk's snapshots are purged for good.</summary>
    public DateTimeOffset? PurgeAt { get; init; }
}

/// <summary>Body of <c>POST /api/v1/disks</c>.</summary>
public sealed record CreateDiskRequest(string? Name);

/// <summary>Body of <c>POST /api/v1/disks/{name}/rename</c>.</summary>
public sealed record RenameDiskRequest(string? NewName);

/// <summary><c>GET /api/v1/disks/{name}/content</c>: the file listing of the latest snapshot.</summary>
public sealed record DiskContentDto(string Disk, string? SnapshotId, DateTimeOffset? SnapshotAt, IReadOnlyList<DiskFileDto> Files);

public sealed record DiskFileDto(string Path, long Size);

/// <summary>Body of <c>POST /api/v1/disks/{name}/restore</c>; null means the latest snapshot.</summary>
public sealed record RestoreDiskRequest(string? SnapshotId);

/// <summary>One snapshot of a disk (<c>GET /api/v1/disks/{name}/snapshots</c>), newest first.</summary>
public sealed record DiskSnapshotDto(string Id, DateTimeOffset CreatedAt, long SizeBytes, int FileCount, string? Reservation);

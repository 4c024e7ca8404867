namespace GpuDev.Compute.LocalHost.Disks;

/// <summary>A completed snapshot of a disk's data directory.</summary>
/// <param name="SnapshotId">The caller's id of the snapshot.</param>
/// <param name="CreatedAt">When the snapshot was taken (the listing file's modification time).</param>
/// <param name="SizeBytes">Sum of the sizes of the regular files in the snapshot (uncompressed content).</param>
/// <param name="FileCount">Number of regular files in the snapshot.</param>
/// <param name="ArchiveBytes">Size of the compressed archive on the host's disk.</param>
internal sealed record DiskSnapshotInfo(string SnapshotId, DateTimeOffset CreatedAt, long SizeBytes, int FileCount, long ArchiveBytes);

/// <summary>One regular file of a snapshot's content listing; <paramref name="Path"/> is relative to the home.</summary>
internal sealed record DiskContentEntry(string Path, long SizeBytes);

/// <summary>How snapshot archives are compressed.</summary>
internal enum DiskArchiveCompression
{
    /// <summary><c>.tar.zst</c>, written with <c>zstd -T0 -3</c>.</summary>
    Zstd,

    /// <summary><c>.tar.gz</c>, the fall-back when zstd is not installed.</summary>
    Gzip,
}

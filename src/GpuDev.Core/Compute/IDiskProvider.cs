using GpuDev.Core.Disks;

namespace GpuDev.Core.Compute;

/// <summary>Where disk data lives and how it is copied. Every method is idempotent and crash-safe: a snapshot is
/// either complete and listed, or absent.</summary>
public interface IDiskProvider
{
    Task CreateAsync(string diskId, CancellationToken cancellationToken);

    /// <summary>Takes a consistent copy of the disk (no environment may be using it) under <paramref name="snapshotId"/>.</summary>
    Task<DiskSnapshot> SnapshotAsync(string diskId, string snapshotId, string? reservationId, CancellationToken cancellationToken);

    Task<long> UsageAsync(string diskId, CancellationToken cancellationToken);

    /// <summary>Files (path relative to the home, size in bytes) of a completed snapshot.</summary>
    Task<IReadOnlyList<(string Path, long Size)>> ListContentAsync(string diskId, string snapshotId, CancellationToken cancellationToken);

    /// <summary>Removes the disk's data and every snapshot.</summary>
    Task PurgeAsync(string diskId, CancellationToken cancellationToken);

    /// <summary>Replaces the disk's content with a completed snapshot's (the disk must not be in use). The content it
    /// replaces is kept until the next snapshot.</summary>
    Task RestoreAsync(string diskId, string snapshotId, CancellationToken cancellationToken);

    Task DeleteSnapshotAsync(string diskId, string snapshotId, CancellationToken cancellationToken);
}

using GpuDev.Core.Compute;
using GpuDev.Core.Disks;

namespace GpuDev.Compute.LocalHost;

/// <summary>Named disks as directories of this host (<c>&lt;StateDir&gt;/disks</c>), through the store shared with
/// <see cref="LocalHostProvider"/> (which attaches a disk as a reservation's home and detaches it on removal).</summary>
internal sealed class LocalHostDiskProvider(LocalDisks disks) : IDiskProvider
{
    public async Task CreateAsync(string diskId, CancellationToken cancellationToken)
    {
        var store = await disks.GetAsync(cancellationToken).ConfigureAwait(false);
        await store.CreateAsync(diskId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<DiskSnapshot> SnapshotAsync(string diskId, string snapshotId, string? reservationId, CancellationToken cancellationToken)
    {
        var store = await disks.GetAsync(cancellationToken).ConfigureAwait(false);
        var info = await store.SnapshotAsync(diskId, snapshotId, cancellationToken).ConfigureAwait(false);
        return new DiskSnapshot(info.SnapshotId, diskId, info.CreatedAt, info.SizeBytes, info.FileCount, reservationId);
    }

    public async Task<long> UsageAsync(string diskId, CancellationToken cancellationToken)
    {
        var store = await disks.GetAsync(cancellationToken).ConfigureAwait(false);
        return await store.UsageAsync(diskId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<(string Path, long Size)>> ListContentAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        var store = await disks.GetAsync(cancellationToken).ConfigureAwait(false);
        var entries = await store.ListContentAsync(diskId, snapshotId, cancellationToken).ConfigureAwait(false);
        return [.. entries.Select(e => (e.Path, e.SizeBytes))];
    }

    public async Task PurgeAsync(string diskId, CancellationToken cancellationToken)
    {
        var store = await disks.GetAsync(cancellationToken).ConfigureAwait(false);
        await store.PurgeAsync(diskId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Swaps the snapshot's content in (the store keeps the replaced content until the next snapshot).
    /// Throws <see cref="EnvironmentUnavailableException"/> when the disk or the snapshot is not on this host.</summary>
    public async Task RestoreAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        var store = await disks.GetAsync(cancellationToken).ConfigureAwait(false);
        if (!store.Exists(diskId))
        {
            throw new EnvironmentUnavailableException($"disk {diskId} does not exist on this host");
        }

        var snapshots = await store.ListSnapshotsAsync(diskId, cancellationToken).ConfigureAwait(false);
        if (!snapshots.Any(s => s.SnapshotId == snapshotId))
        {
            throw new EnvironmentUnavailableException($"disk {diskId} has no snapshot {snapshotId}");
        }

        try
        {
            await store.RestoreAsync(diskId, snapshotId, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            // Deleted between the check and the restore (the store checks again under its lock).
            throw new EnvironmentUnavailableException($"disk {diskId} has no snapshot {snapshotId}");
        }
    }

    /// <summary>Idempotent (as every method of <see cref="IDiskProvider"/>): a snapshot that is already gone is not an error.</summary>
    public async Task DeleteSnapshotAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        var store = await disks.GetAsync(cancellationToken).ConfigureAwait(false);
        await store.DeleteSnapshotAsync(diskId, snapshotId, cancellationToken).ConfigureAwait(false);
    }
}

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
}

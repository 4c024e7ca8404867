using System.Globalization;
using GpuDev.Compute.LocalHost.Disks;
using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost;

/// <summary>A named disk as rank 0's home: its data directory is given to the container's <c>dev</c> before the container
/// starts, and back to root once nothing of the environment runs (its data is never deleted here).</summary>
/// <param name="disks">The store shared with <see cref="LocalHostDiskProvider"/>; null: one over <c>&lt;StateDir&gt;/disks</c>,
/// opened on first use.</param>
internal sealed class DiskHomes(LocalDisks? disks, string stateDir, bool rootless, TimeProvider timeProvider, ILogger logger)
{
    private LocalDisks? _disks = disks;

    private LocalDisks Disks => LazyInitializer.EnsureInitialized(ref _disks, () => LocalDisks.ForStateDir(stateDir, timeProvider, logger));

    /// <summary>The disk's data directory, the home to mount; null when the disk does not exist on this host.</summary>
    public async Task<string?> ExistingHomeAsync(string diskId, CancellationToken cancellationToken)
    {
        var store = await Disks.GetAsync(cancellationToken).ConfigureAwait(false);
        return Directory.Exists(store.DataDir(diskId)) ? store.DataDir(diskId) : null;
    }

    /// <summary>Gives the disk to the container's dev (recursively; skipped when this environment already did: the stamp is written
    /// only after a complete attach).</summary>
    public async Task AttachAsync(EnvironmentLayout layout, string diskId, int uid, CancellationToken cancellationToken)
    {
        var stamp = diskId + " " + uid.ToString(CultureInfo.InvariantCulture) + ":" + uid.ToString(CultureInfo.InvariantCulture) + "\n";
        if (File.Exists(layout.DiskAttachedStamp) && File.ReadAllText(layout.DiskAttachedStamp) == stamp)
        {
            return;
        }

        var store = await Disks.GetAsync(cancellationToken).ConfigureAwait(false);
        await store.AttachAsync(diskId, uid, uid, cancellationToken).ConfigureAwait(false);
        FileWrites.WriteIfChanged(layout.DiskAttachedStamp, stamp, "600");
    }

    /// <summary>Gives the disk back to root (rootless: nothing to give back). A missing disk is only logged, so removal completes.</summary>
    public async Task DetachAsync(EnvironmentLayout layout, string diskId, CancellationToken cancellationToken)
    {
        FileWrites.DeleteIfPresent(layout.DiskAttachedStamp);
        if (rootless || !LocalDiskStore.IsValidDiskId(diskId))
        {
            return;
        }

        var store = await Disks.GetAsync(cancellationToken).ConfigureAwait(false);
        if (!Directory.Exists(store.DataDir(diskId)))
        {
            Log.RemoveProblem(logger, layout.ReservationId, $"disk {diskId} has no data directory; nothing to detach");
            return;
        }

        await store.DetachAsync(diskId, cancellationToken).ConfigureAwait(false);
    }
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost.Disks;

/// <summary>
/// Named persistent disks as directories on this host.
/// <code>
/// &lt;root&gt;/                                   0711 root
///   &lt;diskId&gt;/                               0711 root
///     data/                                  0700, root-owned while detached, the reservation's uid while attached
///     data.before-restore-&lt;time&gt;/           content replaced by a restore, root-owned, removed by the next snapshot
///     restore.tmp/ | restore.ready/          a restore in progress (half-extracted | extracted, not yet swapped in)
///     snapshots/                             0700 root
///       &lt;snapshotId&gt;.tar.zst                archive of data/ (or .tar.gz when zstd is missing)
///       &lt;snapshotId&gt;.list.tsv               size TAB path per regular file, sorted by path; written last: marks the snapshot complete
///       *.tmp                                being written
///   .purge-&lt;diskId&gt;-&lt;n&gt;/                   a disk being purged
/// </code>
/// Every step writes under a temporary name and renames last, so a crash leaves either the old or the new state plus
/// temporary names that <see cref="RecoverAsync"/> removes or rolls forward. Every method is idempotent. External programs
/// run through <see cref="ProcessRunner"/> with argument lists. Callers must only snapshot, restore, attach, detach or
/// recreate dotfiles while no process of the disk's user runs (between reservations): the store then never follows a
/// symlink of the user's (chown -R -P -h, tar without -h, find -P, rename instead of copy).
/// This class checks ids and serialises the operations on one disk (a lock per disk); the work is its collaborators'
/// (<see cref="DiskSnapshots"/>, <see cref="DiskRestorer"/>, <see cref="DiskRecovery"/>, <see cref="ShellDotfiles"/>).
/// </summary>
internal sealed class LocalDiskStore
{
    private readonly DiskPaths _paths;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly DiskPrograms _programs;
    private readonly DiskSnapshots _snapshots;
    private readonly DiskRestorer _restorer;
    private readonly DiskRecovery _recovery;
    private readonly ShellDotfiles _dotfiles;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <param name="root">The store's directory, e.g. <c>&lt;StateDir&gt;/disks</c>.</param>
    /// <param name="longTimeout">Limit for programs that walk a whole disk (tar, chown -R, du); default 6 h.</param>
    /// <param name="compression">Default: zstd when it is on PATH, else gzip.</param>
    /// <param name="skelDir">Where fresh dotfiles come from; default <c>/etc/skel</c>.</param>
    public LocalDiskStore(
        string root, TimeProvider timeProvider, ILogger logger, TimeSpan? longTimeout = null, DiskArchiveCompression? compression = null, string skelDir = "/etc/skel")
    {
        _paths = new DiskPaths(root);
        _timeProvider = timeProvider;
        _logger = logger;
        _programs = new DiskPrograms(TimeSpan.FromMinutes(1), longTimeout ?? TimeSpan.FromHours(6));
        Compression = compression ?? (ProcessRunner.FindOnPath("zstd") is not null ? DiskArchiveCompression.Zstd : DiskArchiveCompression.Gzip);
        _snapshots = new DiskSnapshots(_paths, _programs, Compression, timeProvider, logger);
        _restorer = new DiskRestorer(_paths, _programs, timeProvider, logger);
        _recovery = new DiskRecovery(_paths, _programs);
        _dotfiles = new ShellDotfiles(_programs, skelDir, timeProvider, logger);
        DiskLog.StoreOpened(_logger, Root, DiskSnapshots.ArchiveExtension(Compression));
    }

    public string Root => _paths.Root;

    /// <summary>How new snapshots are compressed (restores read either kind).</summary>
    public DiskArchiveCompression Compression { get; }

    public static bool IsValidDiskId(string? diskId) => DiskPaths.IsValidDiskId(diskId);

    public static bool IsValidSnapshotId(string? snapshotId) => DiskPaths.IsValidSnapshotId(snapshotId);

    public string DiskDir(string diskId) => _paths.DiskDir(diskId);

    public string DataDir(string diskId) => _paths.DataDir(diskId);

    public string SnapshotsDir(string diskId) => _paths.SnapshotsDir(diskId);

    public bool Exists(string diskId) => Directory.Exists(DiskDir(diskId));

    /// <summary>Creates <c>&lt;root&gt;/&lt;diskId&gt;/data</c> (0700, root-owned) and its snapshots directory.</summary>
    public async Task CreateAsync(string diskId, CancellationToken cancellationToken)
    {
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        DiskFiles.EnsureDir(Root, DiskFiles.Mode711);
        DiskFiles.EnsureDir(DiskDir(diskId), DiskFiles.Mode711);
        DiskFiles.EnsureDir(SnapshotsDir(diskId), DiskFiles.Mode700);
        var data = DataDir(diskId);
        if (!Directory.Exists(data))
        {
            DiskFiles.EnsureDir(data, DiskFiles.Mode700);
            DiskLog.Created(_logger, diskId);
        }
    }

    /// <summary>Gives the data directory, recursively and without following symlinks, to <paramref name="uid"/>:<paramref name="gid"/>.</summary>
    /// <returns>The data directory, to be bind-mounted at <c>/home/dev</c>.</returns>
    public async Task<string> AttachAsync(string diskId, int uid, int gid, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(uid);
        ArgumentOutOfRangeException.ThrowIfNegative(gid);
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        var data = _paths.RequireData(diskId);
        var start = _timeProvider.GetTimestamp();
        await _programs.ChownTreeAsync(data, uid, gid, cancellationToken).ConfigureAwait(false);
        DiskFiles.SetMode(data, DiskFiles.Mode700);
        DiskLog.Attached(_logger, diskId, uid, gid, (long)_timeProvider.GetElapsedTime(start).TotalMilliseconds);
        return data;
    }

    /// <summary>Gives the data directory back to root (recursively, without following symlinks), so no later uid can read it.</summary>
    public async Task DetachAsync(string diskId, CancellationToken cancellationToken)
    {
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        var data = _paths.RequireData(diskId);
        var start = _timeProvider.GetTimestamp();
        await _programs.ChownTreeAsync(data, 0, 0, cancellationToken).ConfigureAwait(false);
        DiskFiles.SetMode(data, DiskFiles.Mode700);
        DiskLog.Detached(_logger, diskId, (long)_timeProvider.GetElapsedTime(start).TotalMilliseconds);
    }

    /// <summary>Apparent size in bytes of everything in the data directory (<c>du -sb</c>, one file system, no symlinks followed).</summary>
    public async Task<long> UsageAsync(string diskId, CancellationToken cancellationToken)
    {
        var data = _paths.RequireData(diskId);
        return await _programs.UsageAsync(data, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Archives the data directory as <c>snapshots/&lt;snapshotId&gt;.tar.zst</c> plus its listing. Idempotent: an existing
    /// complete snapshot of that id is returned as is. A successful snapshot removes the pre-restore copies.
    /// </summary>
    public async Task<DiskSnapshotInfo> SnapshotAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        DiskPaths.CheckSnapshotId(snapshotId);
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        var data = _paths.RequireData(diskId);
        var (info, taken) = await _snapshots.TakeAsync(diskId, data, snapshotId, cancellationToken).ConfigureAwait(false);
        if (taken)
        {
            await _restorer.RemovePreRestoreCopiesAsync(diskId, cancellationToken).ConfigureAwait(false);
        }

        return info;
    }

    /// <summary>Completed snapshots, newest first.</summary>
    public Task<IReadOnlyList<DiskSnapshotInfo>> ListSnapshotsAsync(string diskId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(_snapshots.List(diskId));
    }

    /// <summary>The regular files of a completed snapshot (path relative to the home, size), sorted by path.</summary>
    public async Task<IReadOnlyList<DiskContentEntry>> ListContentAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        DiskPaths.CheckSnapshotId(snapshotId);
        return await _snapshots.ListContentAsync(diskId, snapshotId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Replaces the data directory's content with the snapshot's (<see cref="DiskRestorer"/>). The previous content is kept,
    /// root-owned, as <c>data.before-restore-&lt;time&gt;</c> until the next successful snapshot (no path loses data).
    /// </summary>
    /// <returns>The directory that keeps the previous content.</returns>
    public async Task<string> RestoreAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        DiskPaths.CheckSnapshotId(snapshotId);
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        var data = _paths.RequireData(diskId);
        var snapshots = SnapshotsDir(diskId);
        if (DiskSnapshots.Read(snapshots, snapshotId) is null)
        {
            throw new FileNotFoundException($"Disk {diskId} has no snapshot {snapshotId}.");
        }

        var archive = DiskSnapshots.FindArchive(snapshots, snapshotId)!;
        return await _restorer.RestoreAsync(diskId, data, snapshotId, archive, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes one snapshot (listing first, so a half-deleted snapshot is never listed).</summary>
    public async Task DeleteSnapshotAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        DiskPaths.CheckSnapshotId(snapshotId);
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        _snapshots.Delete(diskId, snapshotId);
    }

    /// <summary>Removes everything of the disk: data, snapshots, pre-restore copies. The disk directory is renamed away first.</summary>
    public async Task PurgeAsync(string diskId, CancellationToken cancellationToken)
    {
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        var disk = DiskDir(diskId);
        if (!Directory.Exists(disk))
        {
            return;
        }

        var doomed = DiskFiles.UniqueName(Root, DiskPaths.PurgePrefix + diskId);
        Directory.Move(disk, doomed);
        await _programs.RemoveTreeAsync(doomed, cancellationToken).ConfigureAwait(false);
        DiskLog.Purged(_logger, diskId);
    }

    /// <summary>
    /// Start-up clean-up after a crash: removes half-purged disks, and per disk what <see cref="DiskRecovery"/> finds.
    /// </summary>
    /// <returns>What was done, one line per action.</returns>
    public async Task<IReadOnlyList<string>> RecoverAsync(CancellationToken cancellationToken)
    {
        List<string> actions = [];
        if (!Directory.Exists(Root))
        {
            return actions;
        }

        foreach (var dir in Directory.GetDirectories(Root))
        {
            var name = Path.GetFileName(dir);
            if (name.StartsWith(DiskPaths.PurgePrefix, StringComparison.Ordinal))
            {
                await _programs.RemoveTreeAsync(dir, cancellationToken).ConfigureAwait(false);
                actions.Add($"removed half-purged {name}");
            }
            else if (IsValidDiskId(name))
            {
                using var _ = await LockAsync(name, cancellationToken).ConfigureAwait(false);
                await _recovery.RecoverAsync(name, actions, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var action in actions)
        {
            DiskLog.Recovered(_logger, action);
        }

        return actions;
    }

    /// <summary>
    /// For <c>--recreate-env</c>: moves the home's shell dotfiles into <c>.gpu-dev-env-backup-&lt;time&gt;/</c> and copies
    /// fresh ones from /etc/skel, owned like the data directory (<see cref="ShellDotfiles"/>).
    /// </summary>
    /// <returns>The backup directory, or null when there was nothing to move.</returns>
    public async Task<string?> RecreateDotfilesAsync(string diskId, CancellationToken cancellationToken)
    {
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        var data = _paths.RequireData(diskId);
        return await _dotfiles.RecreateAsync(diskId, data, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IDisposable> LockAsync(string diskId, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(DiskPaths.CheckDiskId(diskId), _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(gate);
    }

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}

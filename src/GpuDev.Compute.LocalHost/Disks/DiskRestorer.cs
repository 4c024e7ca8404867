using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost.Disks;

/// <summary>Puts a snapshot's content in place of a disk's data directory without ever losing data: the snapshot is extracted
/// into <c>restore.tmp</c>, renamed to <c>restore.ready</c>, then swapped in by rename; the replaced content stays, root-owned,
/// as <c>data.before-restore-&lt;time&gt;</c> until the next successful snapshot. Callers hold the disk's lock.</summary>
internal sealed class DiskRestorer(DiskPaths paths, DiskPrograms programs, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>The restored content gets the owner the data directory had (root while detached); setuid/setgid bits are dropped.</summary>
    /// <param name="data">The disk's data directory (<see cref="DiskPaths.RequireData"/>).</param>
    /// <param name="archive">The snapshot's archive (<see cref="DiskSnapshots.FindArchive"/>).</param>
    /// <returns>The directory that keeps the previous content.</returns>
    public async Task<string> RestoreAsync(string diskId, string data, string snapshotId, string archive, CancellationToken cancellationToken)
    {
        var start = timeProvider.GetTimestamp();
        var tmp = paths.RestoreTmp(diskId);
        var ready = paths.RestoreReady(diskId);
        await programs.RemoveTreeAsync(tmp, cancellationToken).ConfigureAwait(false);
        await programs.RemoveTreeAsync(ready, cancellationToken).ConfigureAwait(false);
        DiskFiles.EnsureDir(tmp, DiskFiles.Mode700);
        var decompress = archive.EndsWith(".zst", StringComparison.Ordinal) ? "--zstd" : "--gzip";
        await ProcessRunner.RunCheckedAsync(
            "tar",
            ["--extract", "--file", archive, "--directory", tmp, "--no-same-owner", "--preserve-permissions", "--numeric-owner", "--delay-directory-restore", decompress],
            programs.LongTimeout,
            cancellationToken).ConfigureAwait(false);
        await ProcessRunner.RunCheckedAsync(
            "find", ["-P", tmp, "-xdev", "-type", "f", "-perm", "/6000", "-exec", "chmod", "ug-s", "--", "{}", "+"], programs.LongTimeout, cancellationToken)
            .ConfigureAwait(false);
        var (uid, gid) = await programs.OwnerAsync(data, cancellationToken).ConfigureAwait(false);
        if (uid != 0 || gid != 0)
        {
            await programs.ChownTreeAsync(tmp, uid, gid, cancellationToken).ConfigureAwait(false);
        }

        DiskFiles.SetMode(tmp, DiskFiles.Mode700);
        Directory.Move(tmp, ready);

        var disk = paths.DiskDir(diskId);
        var kept = DiskFiles.UniqueName(disk, DiskPaths.BeforeRestorePrefix + DiskFiles.Stamp(timeProvider));
        Directory.Move(data, kept);
        Directory.Move(ready, data);
        await programs.ChownTreeAsync(kept, 0, 0, cancellationToken).ConfigureAwait(false);
        DiskLog.Restored(logger, diskId, snapshotId, (long)timeProvider.GetElapsedTime(start).TotalMilliseconds, kept);
        return kept;
    }

    /// <summary>After a successful snapshot the content replaced by earlier restores is in that snapshot: the copies go.</summary>
    public async Task RemovePreRestoreCopiesAsync(string diskId, CancellationToken cancellationToken)
    {
        var previous = Directory.GetDirectories(paths.DiskDir(diskId), DiskPaths.BeforeRestorePrefix + "*");
        foreach (var dir in previous)
        {
            await programs.RemoveTreeAsync(dir, cancellationToken).ConfigureAwait(false);
        }

        if (previous.Length > 0)
        {
            DiskLog.PreRestoreCopiesRemoved(logger, diskId, previous.Length);
        }
    }
}

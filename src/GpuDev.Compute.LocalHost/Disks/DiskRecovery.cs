namespace GpuDev.Compute.LocalHost.Disks;

/// <summary>Start-up clean-up of one disk after a crash: every step of the store writes under a temporary name and renames
/// last, so what a crash leaves is either removed (half-written snapshots, half-extracted restores) or rolled to a consistent
/// state (a restore between its two renames is finished; one extracted but not swapped in is dropped). Callers hold the disk's lock.</summary>
internal sealed class DiskRecovery(DiskPaths paths, DiskPrograms programs)
{
    /// <param name="actions">Gets one line per thing done.</param>
    public async Task RecoverAsync(string diskId, List<string> actions, CancellationToken cancellationToken)
    {
        var disk = paths.DiskDir(diskId);
        var data = paths.DataDir(diskId);
        var tmp = paths.RestoreTmp(diskId);
        var ready = paths.RestoreReady(diskId);
        if (Directory.Exists(tmp))
        {
            await programs.RemoveTreeAsync(tmp, cancellationToken).ConfigureAwait(false);
            actions.Add($"disk {diskId}: removed half-extracted restore");
        }

        if (!Directory.Exists(data))
        {
            if (Directory.Exists(ready))
            {
                // The crash came between the two renames of the swap: finish it.
                Directory.Move(ready, data);
                actions.Add($"disk {diskId}: finished an interrupted restore");
            }
            else if (Directory.GetDirectories(disk, DiskPaths.BeforeRestorePrefix + "*").Order(StringComparer.Ordinal).LastOrDefault() is { } previous)
            {
                Directory.Move(previous, data);
                actions.Add($"disk {diskId}: data missing; put back {Path.GetFileName(previous)}");
            }
            else
            {
                DiskFiles.EnsureDir(data, DiskFiles.Mode700);
                actions.Add($"disk {diskId}: data missing (interrupted create); made it empty");
            }
        }

        if (Directory.Exists(ready))
        {
            // Extracted but the swap never started: the old data is the consistent state.
            await programs.RemoveTreeAsync(ready, cancellationToken).ConfigureAwait(false);
            actions.Add($"disk {diskId}: rolled back a restore that was not swapped in");
        }

        foreach (var previous in Directory.GetDirectories(disk, DiskPaths.BeforeRestorePrefix + "*"))
        {
            // A crash between the swap and the chown back to root may have left it owned by the old uid.
            await programs.ChownTreeAsync(previous, 0, 0, cancellationToken).ConfigureAwait(false);
        }

        var snapshots = paths.SnapshotsDir(diskId);
        if (!Directory.Exists(snapshots))
        {
            DiskFiles.EnsureDir(snapshots, DiskFiles.Mode700);
            return;
        }

        RemoveIncompleteSnapshots(diskId, snapshots, actions);
    }

    private static void RemoveIncompleteSnapshots(string diskId, string snapshots, List<string> actions)
    {
        foreach (var file in Directory.GetFiles(snapshots))
        {
            var name = Path.GetFileName(file);
            if (name.EndsWith(FileWrites.TempSuffix, StringComparison.Ordinal))
            {
                File.Delete(file);
                actions.Add($"disk {diskId}: removed half-written {name}");
            }
            else if (DiskSnapshots.ArchiveId(name) is { } id && !File.Exists(Path.Combine(snapshots, id + SnapshotListing.Suffix)))
            {
                // The crash came between renaming the archive and renaming the listing: the snapshot never completed.
                File.Delete(file);
                actions.Add($"disk {diskId}: removed incomplete snapshot {name}");
            }
            else if (name.EndsWith(SnapshotListing.Suffix, StringComparison.Ordinal) && DiskSnapshots.FindArchive(snapshots, name[..^SnapshotListing.Suffix.Length]) is null)
            {
                File.Delete(file);
                actions.Add($"disk {diskId}: removed listing without archive {name}");
            }
        }
    }
}

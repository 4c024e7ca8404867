using System.Text;
using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost.Disks;

/// <summary>The snapshots of a disk in its <c>snapshots/</c> directory: an archive of the data directory plus its
/// <see cref="SnapshotListing"/>. Both are written under temporary names and renamed archive first, listing last, so a
/// snapshot whose listing exists is complete. Callers hold the disk's lock for <see cref="TakeAsync"/> and <see cref="Delete"/>.</summary>
internal sealed class DiskSnapshots(DiskPaths paths, DiskPrograms programs, DiskArchiveCompression compression, TimeProvider timeProvider, ILogger logger)
{
    private static readonly DiskArchiveCompression[] s_readable = [DiskArchiveCompression.Zstd, DiskArchiveCompression.Gzip];

    public static string ArchiveExtension(DiskArchiveCompression compression) => compression == DiskArchiveCompression.Zstd ? "tar.zst" : "tar.gz";

    /// <summary>Archives <paramref name="data"/> as <c>snapshots/&lt;snapshotId&gt;.tar.zst</c> plus its listing.</summary>
    /// <returns>The snapshot, and whether it was taken now (false: a complete snapshot of that id existed and is returned as is).</returns>
    public async Task<(DiskSnapshotInfo Info, bool Taken)> TakeAsync(string diskId, string data, string snapshotId, CancellationToken cancellationToken)
    {
        var snapshots = paths.SnapshotsDir(diskId);
        DiskFiles.EnsureDir(snapshots, DiskFiles.Mode700);
        var existing = Read(snapshots, snapshotId);
        if (existing is not null)
        {
            return (existing, false);
        }

        var start = timeProvider.GetTimestamp();
        var createdAt = timeProvider.GetUtcNow();
        var archive = Path.Combine(snapshots, snapshotId + "." + ArchiveExtension(compression));
        var archiveTmp = FileWrites.TempPath(archive);
        var list = Path.Combine(snapshots, snapshotId + SnapshotListing.Suffix);
        DiskFiles.DeleteFileIfExists(archiveTmp);
        DiskFiles.DeleteFileIfExists(FileWrites.TempPath(list));
        DeleteArchives(snapshots, snapshotId);

        // The listing is taken first so that a file it names is in the archive whenever the disk is quiescent.
        var entries = await programs.ListFilesAsync(data, cancellationToken).ConfigureAwait(false);
        var compressionArgs = compression == DiskArchiveCompression.Zstd ? "--use-compress-program=zstd -T0 -3 -q" : "--gzip";
        var tar = await ProcessRunner.RunAsync(
            "tar",
            ["--create", "--file", archiveTmp, "--directory", data, "--numeric-owner", "--sparse", "--one-file-system", "--sort=name", compressionArgs, "."],
            programs.LongTimeout,
            cancellationToken).ConfigureAwait(false);
        if (tar.ExitCode == 1 && !tar.TimedOut)
        {
            // GNU tar: "some files differ", i.e. a file changed while it was read; the archive is complete and readable.
            DiskLog.SnapshotFilesChanged(logger, diskId, snapshotId, tar.Describe("tar"));
        }
        else if (!tar.Succeeded)
        {
            DiskFiles.DeleteFileIfExists(archiveTmp);
            throw new InvalidOperationException($"Snapshot {snapshotId} of disk {diskId} failed: {tar.Describe("tar")}");
        }

        FileWrites.FlushToDisk(archiveTmp);

        // The listing's modification time is the snapshot's creation time.
        FileWrites.WriteTemp(list, SnapshotListing.Format(entries), "600", createdAt, durable: true);
        FileWrites.Commit(archive);
        FileWrites.Commit(list);

        var info = Read(snapshots, snapshotId) ?? throw new InvalidOperationException($"Snapshot {snapshotId} of disk {diskId} vanished after it was written.");
        DiskLog.Snapshotted(logger, diskId, snapshotId, info.FileCount, info.SizeBytes, info.ArchiveBytes, (long)timeProvider.GetElapsedTime(start).TotalMilliseconds);
        return (info, true);
    }

    /// <summary>Completed snapshots, newest first.</summary>
    public IReadOnlyList<DiskSnapshotInfo> List(string diskId)
    {
        var snapshots = paths.SnapshotsDir(diskId);
        List<DiskSnapshotInfo> result = [];
        if (Directory.Exists(snapshots))
        {
            foreach (var list in Directory.EnumerateFiles(snapshots, "*" + SnapshotListing.Suffix))
            {
                var id = Path.GetFileName(list)[..^SnapshotListing.Suffix.Length];
                if (DiskPaths.IsValidSnapshotId(id) && Read(snapshots, id) is { } info)
                {
                    result.Add(info);
                }
            }
        }

        return [.. result.OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.SnapshotId, StringComparer.Ordinal)];
    }

    /// <summary>The regular files of a completed snapshot (path relative to the home, size), sorted by path.</summary>
    public async Task<IReadOnlyList<DiskContentEntry>> ListContentAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        var snapshots = paths.SnapshotsDir(diskId);
        if (Read(snapshots, snapshotId) is null)
        {
            throw new FileNotFoundException($"Disk {diskId} has no snapshot {snapshotId}.");
        }

        var lines = await File.ReadAllLinesAsync(Path.Combine(snapshots, snapshotId + SnapshotListing.Suffix), Encoding.UTF8, cancellationToken).ConfigureAwait(false);
        return [.. lines.Where(l => l.Length > 0).Select(SnapshotListing.ParseLine)];
    }

    /// <summary>Deletes one snapshot (listing first, so a half-deleted snapshot is never listed).</summary>
    public void Delete(string diskId, string snapshotId)
    {
        var snapshots = paths.SnapshotsDir(diskId);
        var list = Path.Combine(snapshots, snapshotId + SnapshotListing.Suffix);
        var existed = File.Exists(list);
        DiskFiles.DeleteFileIfExists(list);
        DeleteArchives(snapshots, snapshotId);
        if (existed)
        {
            DiskLog.SnapshotDeleted(logger, diskId, snapshotId);
        }
    }

    /// <summary>A complete snapshot (listing and archive both there), else null.</summary>
    public static DiskSnapshotInfo? Read(string snapshots, string snapshotId)
    {
        var list = new FileInfo(Path.Combine(snapshots, snapshotId + SnapshotListing.Suffix));
        var archive = FindArchive(snapshots, snapshotId);
        if (!list.Exists || archive is null)
        {
            return null;
        }

        long size = 0;
        var count = 0;
        foreach (var line in File.ReadLines(list.FullName, Encoding.UTF8))
        {
            if (line.Length > 0)
            {
                size += SnapshotListing.ParseLine(line).SizeBytes;
                count++;
            }
        }

        return new DiskSnapshotInfo(snapshotId, new DateTimeOffset(list.LastWriteTimeUtc, TimeSpan.Zero), size, count, new FileInfo(archive).Length);
    }

    /// <summary>The snapshot's archive in either compression; null when there is none.</summary>
    public static string? FindArchive(string snapshots, string snapshotId)
    {
        foreach (var compression in s_readable)
        {
            var path = Path.Combine(snapshots, snapshotId + "." + ArchiveExtension(compression));
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    /// <summary>The snapshot id an archive's file name belongs to; null when it is not an archive's name.</summary>
    public static string? ArchiveId(string fileName)
    {
        foreach (var compression in s_readable)
        {
            var suffix = "." + ArchiveExtension(compression);
            if (fileName.EndsWith(suffix, StringComparison.Ordinal))
            {
                return fileName[..^suffix.Length];
            }
        }

        return null;
    }

    private static void DeleteArchives(string snapshots, string snapshotId)
    {
        foreach (var compression in s_readable)
        {
            DiskFiles.DeleteFileIfExists(Path.Combine(snapshots, snapshotId + "." + ArchiveExtension(compression)));
        }
    }
}

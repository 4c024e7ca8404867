using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost.Disks;

/// <summary>
/// Named persistent disks as directories on this host (not wired into the provider yet).
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
/// </summary>
internal sealed partial class LocalDiskStore
{
    private const string DataName = "data";
    private const string SnapshotsName = "snapshots";
    private const string RestoreTmpName = "restore.tmp";
    private const string RestoreReadyName = "restore.ready";
    private const string BeforeRestorePrefix = "data.before-restore-";
    private const string PurgePrefix = ".purge-";
    private const string TmpSuffix = ".tmp";
    private const string ListSuffix = ".list.tsv";
    private const string BackupPrefix = ".gpu-dev-env-backup-";

    /// <summary>Shell start-up files that <see cref="RecreateDotfilesAsync"/> moves aside.</summary>
    internal static readonly IReadOnlyList<string> ShellDotfiles =
    [
        ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile",
        ".zshrc", ".zprofile", ".zshenv", ".zlogin", ".zlogout", ".inputrc",
    ];

    private static readonly UnixFileMode s_mode700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private static readonly UnixFileMode s_mode711 = s_mode700 | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    private readonly string _root;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly TimeSpan _shortTimeout;
    private readonly TimeSpan _longTimeout;
    private readonly string _skelDir;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <param name="root">The store's directory, e.g. <c>&lt;StateDir&gt;/disks</c>.</param>
    /// <param name="longTimeout">Limit for programs that walk a whole disk (tar, chown -R, du); default 6 h.</param>
    /// <param name="compression">Default: zstd when it is on PATH, else gzip.</param>
    /// <param name="skelDir">Where fresh dotfiles come from; default <c>/etc/skel</c>.</param>
    public LocalDiskStore(
        string root, TimeProvider timeProvider, ILogger logger, TimeSpan? longTimeout = null, DiskArchiveCompression? compression = null, string skelDir = "/etc/skel")
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        _root = Path.GetFullPath(root);
        if (!LocalPaths.IsSafePath(_root))
        {
            throw new ArgumentException($"Disk store root {root} must be an absolute path of [A-Za-z0-9._/-].", nameof(root));
        }

        _timeProvider = timeProvider;
        _logger = logger;
        _shortTimeout = TimeSpan.FromMinutes(1);
        _longTimeout = longTimeout ?? TimeSpan.FromHours(6);
        _skelDir = skelDir;
        Compression = compression ?? (ProcessRunner.FindOnPath("zstd") is not null ? DiskArchiveCompression.Zstd : DiskArchiveCompression.Gzip);
        DiskLog.StoreOpened(_logger, _root, ArchiveExtension(Compression));
    }

    public string Root => _root;

    /// <summary>How new snapshots are compressed (restores read either kind).</summary>
    public DiskArchiveCompression Compression { get; }

    public static bool IsValidDiskId(string? diskId) => diskId is not null && DiskIdPattern().IsMatch(diskId);

    public static bool IsValidSnapshotId(string? snapshotId) => snapshotId is not null && SnapshotIdPattern().IsMatch(snapshotId);

    public string DiskDir(string diskId) => Path.Combine(_root, CheckDiskId(diskId));

    public string DataDir(string diskId) => Path.Combine(DiskDir(diskId), DataName);

    public string SnapshotsDir(string diskId) => Path.Combine(DiskDir(diskId), SnapshotsName);

    public bool Exists(string diskId) => Directory.Exists(DiskDir(diskId));

    /// <summary>Creates <c>&lt;root&gt;/&lt;diskId&gt;/data</c> (0700, root-owned) and its snapshots directory.</summary>
    public async Task CreateAsync(string diskId, CancellationToken cancellationToken)
    {
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        EnsureDir(_root, s_mode711);
        EnsureDir(DiskDir(diskId), s_mode711);
        EnsureDir(SnapshotsDir(diskId), s_mode700);
        var data = DataDir(diskId);
        if (!Directory.Exists(data))
        {
            EnsureDir(data, s_mode700);
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
        var data = RequireData(diskId);
        var start = _timeProvider.GetTimestamp();
        await ChownTreeAsync(data, uid, gid, cancellationToken).ConfigureAwait(false);
        SetMode(data, s_mode700);
        DiskLog.Attached(_logger, diskId, uid, gid, (long)_timeProvider.GetElapsedTime(start).TotalMilliseconds);
        return data;
    }

    /// <summary>Gives the data directory back to root (recursively, without following symlinks), so no later uid can read it.</summary>
    public async Task DetachAsync(string diskId, CancellationToken cancellationToken)
    {
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        var data = RequireData(diskId);
        var start = _timeProvider.GetTimestamp();
        await ChownTreeAsync(data, 0, 0, cancellationToken).ConfigureAwait(false);
        SetMode(data, s_mode700);
        DiskLog.Detached(_logger, diskId, (long)_timeProvider.GetElapsedTime(start).TotalMilliseconds);
    }

    /// <summary>Apparent size in bytes of everything in the data directory (<c>du -sb</c>, one file system, no symlinks followed).</summary>
    public async Task<long> UsageAsync(string diskId, CancellationToken cancellationToken)
    {
        var data = RequireData(diskId);
        var result = await RunCheckedAsync("du", ["-s", "-b", "-P", "-x", "--", data], _longTimeout, cancellationToken).ConfigureAwait(false);
        var first = result.StdOut.Split('\t', 2)[0].Trim();
        return long.Parse(first, NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Archives the data directory as <c>snapshots/&lt;snapshotId&gt;.tar.zst</c> plus its listing. Idempotent: an existing
    /// complete snapshot of that id is returned as is. A successful snapshot removes the pre-restore copies.
    /// </summary>
    public async Task<DiskSnapshotInfo> SnapshotAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        CheckSnapshotId(snapshotId);
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        var data = RequireData(diskId);
        var snapshots = SnapshotsDir(diskId);
        EnsureDir(snapshots, s_mode700);
        var existing = ReadSnapshot(snapshots, snapshotId);
        if (existing is not null)
        {
            return existing;
        }

        var start = _timeProvider.GetTimestamp();
        var createdAt = _timeProvider.GetUtcNow();
        var archive = Path.Combine(snapshots, snapshotId + "." + ArchiveExtension(Compression));
        var archiveTmp = archive + TmpSuffix;
        var list = Path.Combine(snapshots, snapshotId + ListSuffix);
        var listTmp = list + TmpSuffix;
        DeleteFileIfExists(archiveTmp);
        DeleteFileIfExists(listTmp);
        DeleteStaleArchives(snapshots, snapshotId);

        // The listing is taken first so that a file it names is in the archive whenever the disk is quiescent.
        var entries = await ListFilesAsync(data, cancellationToken).ConfigureAwait(false);
        var compressionArgs = Compression == DiskArchiveCompression.Zstd ? "--use-compress-program=zstd -T0 -3 -q" : "--gzip";
        var tar = await ProcessRunner.RunAsync(
            "tar",
            ["--create", "--file", archiveTmp, "--directory", data, "--numeric-owner", "--sparse", "--one-file-system", "--sort=name", compressionArgs, "."],
            _longTimeout,
            cancellationToken).ConfigureAwait(false);
        if (tar.ExitCode == 1 && !tar.TimedOut)
        {
            // GNU tar: "some files differ", i.e. a file changed while it was read; the archive is complete and readable.
            DiskLog.SnapshotFilesChanged(_logger, diskId, snapshotId, tar.Describe("tar"));
        }
        else if (!tar.Succeeded)
        {
            DeleteFileIfExists(archiveTmp);
            throw new InvalidOperationException($"Snapshot {snapshotId} of disk {diskId} failed: {tar.Describe("tar")}");
        }

        FlushToDisk(archiveTmp);
        var text = new StringBuilder();
        foreach (var entry in entries)
        {
            text.Append(entry.SizeBytes.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(EscapePath(entry.Path)).Append('\n');
        }

        await File.WriteAllTextAsync(listTmp, text.ToString(), new UTF8Encoding(false), cancellationToken).ConfigureAwait(false);
        SetMode(listTmp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.SetLastWriteTimeUtc(listTmp, createdAt.UtcDateTime);
        FlushToDisk(listTmp);
        File.Move(archiveTmp, archive, overwrite: true);
        File.Move(listTmp, list, overwrite: true);

        var info = ReadSnapshot(snapshots, snapshotId) ?? throw new InvalidOperationException($"Snapshot {snapshotId} of disk {diskId} vanished after it was written.");
        DiskLog.Snapshotted(_logger, diskId, snapshotId, info.FileCount, info.SizeBytes, info.ArchiveBytes, (long)_timeProvider.GetElapsedTime(start).TotalMilliseconds);
        await RemovePreRestoreCopiesAsync(diskId, cancellationToken).ConfigureAwait(false);
        return info;
    }

    /// <summary>Completed snapshots, newest first.</summary>
    public Task<IReadOnlyList<DiskSnapshotInfo>> ListSnapshotsAsync(string diskId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var snapshots = SnapshotsDir(diskId);
        List<DiskSnapshotInfo> result = [];
        if (Directory.Exists(snapshots))
        {
            foreach (var list in Directory.EnumerateFiles(snapshots, "*" + ListSuffix))
            {
                var id = Path.GetFileName(list)[..^ListSuffix.Length];
                if (IsValidSnapshotId(id) && ReadSnapshot(snapshots, id) is { } info)
                {
                    result.Add(info);
                }
            }
        }

        return Task.FromResult<IReadOnlyList<DiskSnapshotInfo>>(
            [.. result.OrderByDescending(s => s.CreatedAt).ThenByDescending(s => s.SnapshotId, StringComparer.Ordinal)]);
    }

    /// <summary>The regular files of a completed snapshot (path relative to the home, size), sorted by path.</summary>
    public async Task<IReadOnlyList<DiskContentEntry>> ListContentAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        CheckSnapshotId(snapshotId);
        var snapshots = SnapshotsDir(diskId);
        if (ReadSnapshot(snapshots, snapshotId) is null)
        {
            throw new FileNotFoundException($"Disk {diskId} has no snapshot {snapshotId}.");
        }

        var lines = await File.ReadAllLinesAsync(Path.Combine(snapshots, snapshotId + ListSuffix), Encoding.UTF8, cancellationToken).ConfigureAwait(false);
        return [.. lines.Where(l => l.Length > 0).Select(ParseListLine)];
    }

    /// <summary>
    /// Replaces the data directory's content with the snapshot's: extracts into <c>restore.tmp</c>, renames it to
    /// <c>restore.ready</c>, then swaps it in by rename. The previous content is kept, root-owned, as
    /// <c>data.before-restore-&lt;time&gt;</c> until the next successful snapshot (no path loses data). The restored content
    /// gets the owner the data directory had (root while detached). Setuid/setgid bits are dropped.
    /// </summary>
    /// <returns>The directory that keeps the previous content.</returns>
    public async Task<string> RestoreAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        CheckSnapshotId(snapshotId);
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        var disk = DiskDir(diskId);
        var data = RequireData(diskId);
        var snapshots = SnapshotsDir(diskId);
        if (ReadSnapshot(snapshots, snapshotId) is null)
        {
            throw new FileNotFoundException($"Disk {diskId} has no snapshot {snapshotId}.");
        }

        var start = _timeProvider.GetTimestamp();
        var archive = FindArchive(snapshots, snapshotId)!;
        var tmp = Path.Combine(disk, RestoreTmpName);
        var ready = Path.Combine(disk, RestoreReadyName);
        await RemoveTreeAsync(tmp, cancellationToken).ConfigureAwait(false);
        await RemoveTreeAsync(ready, cancellationToken).ConfigureAwait(false);
        EnsureDir(tmp, s_mode700);
        var decompress = archive.EndsWith(".zst", StringComparison.Ordinal) ? "--zstd" : "--gzip";
        await RunCheckedAsync(
            "tar",
            ["--extract", "--file", archive, "--directory", tmp, "--no-same-owner", "--preserve-permissions", "--numeric-owner", "--delay-directory-restore", decompress],
            _longTimeout,
            cancellationToken).ConfigureAwait(false);
        await RunCheckedAsync("find", ["-P", tmp, "-xdev", "-type", "f", "-perm", "/6000", "-exec", "chmod", "ug-s", "--", "{}", "+"], _longTimeout, cancellationToken)
            .ConfigureAwait(false);
        var (uid, gid) = await OwnerAsync(data, cancellationToken).ConfigureAwait(false);
        if (uid != 0 || gid != 0)
        {
            await ChownTreeAsync(tmp, uid, gid, cancellationToken).ConfigureAwait(false);
        }

        SetMode(tmp, s_mode700);
        Directory.Move(tmp, ready);

        var kept = UniqueName(disk, BeforeRestorePrefix + Stamp());
        Directory.Move(data, kept);
        Directory.Move(ready, data);
        await ChownTreeAsync(kept, 0, 0, cancellationToken).ConfigureAwait(false);
        DiskLog.Restored(_logger, diskId, snapshotId, (long)_timeProvider.GetElapsedTime(start).TotalMilliseconds, kept);
        return kept;
    }

    /// <summary>Deletes one snapshot (listing first, so a half-deleted snapshot is never listed).</summary>
    public async Task DeleteSnapshotAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        CheckSnapshotId(snapshotId);
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        var snapshots = SnapshotsDir(diskId);
        var list = Path.Combine(snapshots, snapshotId + ListSuffix);
        var existed = File.Exists(list);
        DeleteFileIfExists(list);
        DeleteStaleArchives(snapshots, snapshotId);
        if (existed)
        {
            DiskLog.SnapshotDeleted(_logger, diskId, snapshotId);
        }
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

        var doomed = UniqueName(_root, PurgePrefix + diskId);
        Directory.Move(disk, doomed);
        await RemoveTreeAsync(doomed, cancellationToken).ConfigureAwait(false);
        DiskLog.Purged(_logger, diskId);
    }

    /// <summary>
    /// Start-up clean-up after a crash: removes half-written snapshots, half-extracted restores and half-purged disks;
    /// rolls a restore that was extracted but not swapped in back (or forward when the data directory is already gone).
    /// </summary>
    /// <returns>What was done, one line per action.</returns>
    public async Task<IReadOnlyList<string>> RecoverAsync(CancellationToken cancellationToken)
    {
        List<string> actions = [];
        if (!Directory.Exists(_root))
        {
            return actions;
        }

        foreach (var dir in Directory.GetDirectories(_root))
        {
            var name = Path.GetFileName(dir);
            if (name.StartsWith(PurgePrefix, StringComparison.Ordinal))
            {
                await RemoveTreeAsync(dir, cancellationToken).ConfigureAwait(false);
                actions.Add($"removed half-purged {name}");
            }
            else if (IsValidDiskId(name))
            {
                using var _ = await LockAsync(name, cancellationToken).ConfigureAwait(false);
                await RecoverDiskAsync(name, actions, cancellationToken).ConfigureAwait(false);
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
    /// fresh ones from /etc/skel, owned like the data directory.
    /// </summary>
    /// <returns>The backup directory, or null when there was nothing to move.</returns>
    public async Task<string?> RecreateDotfilesAsync(string diskId, CancellationToken cancellationToken)
    {
        using var _ = await LockAsync(diskId, cancellationToken).ConfigureAwait(false);
        var data = RequireData(diskId);
        var (uid, gid) = await OwnerAsync(data, cancellationToken).ConfigureAwait(false);
        var present = ShellDotfiles.Where(n => PathExists(Path.Combine(data, n))).ToList();
        string? backup = null;
        List<string> toChown = [];
        if (present.Count > 0)
        {
            // A fresh name that is not there in any form (a symlink planted under a guessable name is never followed).
            backup = UniqueName(data, BackupPrefix + Stamp());
            EnsureDir(backup, s_mode700);
            toChown.Add(backup);
            foreach (var name in present)
            {
                // rename(2) moves a symlink itself, never its target.
                var source = Path.Combine(data, name);
                var target = Path.Combine(backup, name);
                if (Directory.Exists(source) && new FileInfo(source).LinkTarget is null)
                {
                    Directory.Move(source, target);
                }
                else
                {
                    File.Move(source, target);
                }
            }
        }

        foreach (var name in ShellDotfiles)
        {
            var skel = Path.Combine(_skelDir, name);
            var target = Path.Combine(data, name);
            if (File.Exists(skel) && !PathExists(target))
            {
                // File.Copy without overwrite creates with O_EXCL: it fails rather than write through a symlink.
                File.Copy(skel, target, overwrite: false);
                SetMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                toChown.Add(target);
            }
        }

        if ((uid != 0 || gid != 0) && toChown.Count > 0)
        {
            await RunCheckedAsync("chown", ["-h", "--", Owner(uid, gid), .. toChown], _shortTimeout, cancellationToken).ConfigureAwait(false);
            if (backup is not null)
            {
                await ChownTreeAsync(backup, uid, gid, cancellationToken).ConfigureAwait(false);
            }
        }

        DiskLog.DotfilesRecreated(_logger, diskId, backup ?? "(nothing to back up)", _skelDir);
        return backup;
    }

    internal static string EscapePath(string path) =>
        path.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)
            .Replace("\r", "\\r", StringComparison.Ordinal);

    internal static string UnescapePath(string escaped)
    {
        if (!escaped.Contains('\\', StringComparison.Ordinal))
        {
            return escaped;
        }

        var sb = new StringBuilder(escaped.Length);
        for (var i = 0; i < escaped.Length; i++)
        {
            if (escaped[i] == '\\' && i + 1 < escaped.Length)
            {
                i++;
                sb.Append(escaped[i] switch { 't' => '\t', 'n' => '\n', 'r' => '\r', _ => escaped[i] });
            }
            else
            {
                sb.Append(escaped[i]);
            }
        }

        return sb.ToString();
    }

    private async Task RecoverDiskAsync(string diskId, List<string> actions, CancellationToken cancellationToken)
    {
        var disk = DiskDir(diskId);
        var data = Path.Combine(disk, DataName);
        var tmp = Path.Combine(disk, RestoreTmpName);
        var ready = Path.Combine(disk, RestoreReadyName);
        if (Directory.Exists(tmp))
        {
            await RemoveTreeAsync(tmp, cancellationToken).ConfigureAwait(false);
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
            else if (Directory.GetDirectories(disk, BeforeRestorePrefix + "*").Order(StringComparer.Ordinal).LastOrDefault() is { } previous)
            {
                Directory.Move(previous, data);
                actions.Add($"disk {diskId}: data missing; put back {Path.GetFileName(previous)}");
            }
            else
            {
                EnsureDir(data, s_mode700);
                actions.Add($"disk {diskId}: data missing (interrupted create); made it empty");
            }
        }

        if (Directory.Exists(ready))
        {
            // Extracted but the swap never started: the old data is the consistent state.
            await RemoveTreeAsync(ready, cancellationToken).ConfigureAwait(false);
            actions.Add($"disk {diskId}: rolled back a restore that was not swapped in");
        }

        foreach (var previous in Directory.GetDirectories(disk, BeforeRestorePrefix + "*"))
        {
            // A crash between the swap and the chown back to root may have left it owned by the old uid.
            await ChownTreeAsync(previous, 0, 0, cancellationToken).ConfigureAwait(false);
        }

        var snapshots = Path.Combine(disk, SnapshotsName);
        if (!Directory.Exists(snapshots))
        {
            EnsureDir(snapshots, s_mode700);
            return;
        }

        foreach (var file in Directory.GetFiles(snapshots))
        {
            var name = Path.GetFileName(file);
            if (name.EndsWith(TmpSuffix, StringComparison.Ordinal))
            {
                File.Delete(file);
                actions.Add($"disk {diskId}: removed half-written {name}");
            }
            else if (ArchiveId(name) is { } id && !File.Exists(Path.Combine(snapshots, id + ListSuffix)))
            {
                // The crash came between renaming the archive and renaming the listing: the snapshot never completed.
                File.Delete(file);
                actions.Add($"disk {diskId}: removed incomplete snapshot {name}");
            }
            else if (name.EndsWith(ListSuffix, StringComparison.Ordinal) && FindArchive(snapshots, name[..^ListSuffix.Length]) is null)
            {
                File.Delete(file);
                actions.Add($"disk {diskId}: removed listing without archive {name}");
            }
        }
    }

    private async Task RemovePreRestoreCopiesAsync(string diskId, CancellationToken cancellationToken)
    {
        var previous = Directory.GetDirectories(DiskDir(diskId), BeforeRestorePrefix + "*");
        foreach (var dir in previous)
        {
            await RemoveTreeAsync(dir, cancellationToken).ConfigureAwait(false);
        }

        if (previous.Length > 0)
        {
            DiskLog.PreRestoreCopiesRemoved(_logger, diskId, previous.Length);
        }
    }

    /// <summary>Regular files under <paramref name="dir"/>, relative paths sorted ordinally; no symlink is followed.</summary>
    private async Task<List<DiskContentEntry>> ListFilesAsync(string dir, CancellationToken cancellationToken)
    {
        var result = await RunCheckedAsync("find", ["-P", dir, "-xdev", "-type", "f", "-printf", "%s\\t%P\\0"], _longTimeout, cancellationToken).ConfigureAwait(false);
        List<DiskContentEntry> entries = [];
        foreach (var record in result.StdOut.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var tab = record.IndexOf('\t', StringComparison.Ordinal);
            entries.Add(new DiskContentEntry(record[(tab + 1)..], long.Parse(record.AsSpan(0, tab), NumberStyles.None, CultureInfo.InvariantCulture)));
        }

        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return entries;
    }

    private static DiskContentEntry ParseListLine(string line)
    {
        var tab = line.IndexOf('\t', StringComparison.Ordinal);
        return new DiskContentEntry(UnescapePath(line[(tab + 1)..]), long.Parse(line.AsSpan(0, tab), NumberStyles.None, CultureInfo.InvariantCulture));
    }

    /// <summary>A complete snapshot (listing and archive both there), else null.</summary>
    private static DiskSnapshotInfo? ReadSnapshot(string snapshots, string snapshotId)
    {
        var list = new FileInfo(Path.Combine(snapshots, snapshotId + ListSuffix));
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
                size += ParseListLine(line).SizeBytes;
                count++;
            }
        }

        return new DiskSnapshotInfo(snapshotId, new DateTimeOffset(list.LastWriteTimeUtc, TimeSpan.Zero), size, count, new FileInfo(archive).Length);
    }

    private static string? FindArchive(string snapshots, string snapshotId)
    {
        foreach (var compression in new[] { DiskArchiveCompression.Zstd, DiskArchiveCompression.Gzip })
        {
            var path = Path.Combine(snapshots, snapshotId + "." + ArchiveExtension(compression));
            if (File.Exists(path))
            {
                return path;
            }
        }

        return null;
    }

    private static string? ArchiveId(string fileName)
    {
        foreach (var compression in new[] { DiskArchiveCompression.Zstd, DiskArchiveCompression.Gzip })
        {
            var suffix = "." + ArchiveExtension(compression);
            if (fileName.EndsWith(suffix, StringComparison.Ordinal))
            {
                return fileName[..^suffix.Length];
            }
        }

        return null;
    }

    private static void DeleteStaleArchives(string snapshots, string snapshotId)
    {
        foreach (var compression in new[] { DiskArchiveCompression.Zstd, DiskArchiveCompression.Gzip })
        {
            DeleteFileIfExists(Path.Combine(snapshots, snapshotId + "." + ArchiveExtension(compression)));
        }
    }

    private static string ArchiveExtension(DiskArchiveCompression compression) => compression == DiskArchiveCompression.Zstd ? "tar.zst" : "tar.gz";

    /// <summary>chown -R without following any symlink (-P: not even command-line ones; -h: a link's own owner changes).</summary>
    private Task ChownTreeAsync(string path, int uid, int gid, CancellationToken cancellationToken) =>
        RunCheckedAsync("chown", ["-R", "-P", "-h", "--", Owner(uid, gid), path], _longTimeout, cancellationToken);

    /// <summary>"+uid:+gid": the plus makes chown read numbers, never names.</summary>
    private static string Owner(int uid, int gid) =>
        "+" + uid.ToString(CultureInfo.InvariantCulture) + ":+" + gid.ToString(CultureInfo.InvariantCulture);

    private async Task<(int Uid, int Gid)> OwnerAsync(string path, CancellationToken cancellationToken)
    {
        var result = await RunCheckedAsync("stat", ["-c", "%u:%g", "--", path], _shortTimeout, cancellationToken).ConfigureAwait(false);
        var parts = result.StdOut.Trim().Split(':');
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    private async Task RemoveTreeAsync(string path, CancellationToken cancellationToken)
    {
        if (PathExists(path))
        {
            await RunCheckedAsync("rm", ["-rf", "--one-file-system", "--", path], _longTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task<ProcessResult> RunCheckedAsync(string program, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = await ProcessRunner.RunAsync(program, arguments, timeout, cancellationToken).ConfigureAwait(false);
        return result.Succeeded ? result : throw new InvalidOperationException(result.Describe(program));
    }

    private string RequireData(string diskId)
    {
        var data = DataDir(diskId);
        var info = new DirectoryInfo(data);
        if (!info.Exists || info.LinkTarget is not null)
        {
            throw new DirectoryNotFoundException($"Disk {diskId} does not exist (no {data}).");
        }

        return data;
    }

    private async Task<IDisposable> LockAsync(string diskId, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(CheckDiskId(diskId), _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Releaser(gate);
    }

    private string Stamp() => _timeProvider.GetUtcNow().UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary><paramref name="name"/> under <paramref name="dir"/>, suffixed -2, -3 … until nothing (not even a dangling symlink) has it.</summary>
    private static string UniqueName(string dir, string name)
    {
        var candidate = Path.Combine(dir, name);
        for (var n = 2; PathExists(candidate); n++)
        {
            candidate = Path.Combine(dir, name + "-" + n.ToString(CultureInfo.InvariantCulture));
        }

        return candidate;
    }

    private static bool PathExists(string path) => File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null;

    private static void EnsureDir(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Disks need a Unix host.");
        }

        Directory.CreateDirectory(path, mode);
        File.SetUnixFileMode(path, mode);
    }

    private static void SetMode(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Disks need a Unix host.");
        }

        File.SetUnixFileMode(path, mode);
    }

    private static void DeleteFileIfExists(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    private static void FlushToDisk(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        stream.Flush(flushToDisk: true);
    }

    private static string CheckDiskId(string diskId) =>
        IsValidDiskId(diskId) ? diskId : throw new ArgumentException($"Disk id must be 32 lowercase hex characters, not '{diskId}'.", nameof(diskId));

    private static void CheckSnapshotId(string snapshotId)
    {
        if (!IsValidSnapshotId(snapshotId))
        {
            throw new ArgumentException($"Snapshot id must be 1-64 of [A-Za-z0-9_-] starting with a letter or digit, not '{snapshotId}'.", nameof(snapshotId));
        }
    }

    [GeneratedRegex("^[0-9a-f]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex DiskIdPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex SnapshotIdPattern();

    private sealed class Releaser(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}

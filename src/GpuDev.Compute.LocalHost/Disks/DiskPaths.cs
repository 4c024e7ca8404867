using System.Text.RegularExpressions;

namespace GpuDev.Compute.LocalHost.Disks;

/// <summary>Where everything of a disk lives under the store's root (the tree is drawn on <see cref="LocalDiskStore"/>), and
/// which ids are valid: every path is built from a checked id, so no id can name a path outside its disk.</summary>
internal sealed partial class DiskPaths
{
    public const string DataName = "data";
    public const string SnapshotsName = "snapshots";
    public const string BeforeRestorePrefix = "data.before-restore-";
    public const string PurgePrefix = ".purge-";

    private const string RestoreTmpName = "restore.tmp";
    private const string RestoreReadyName = "restore.ready";

    public DiskPaths(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
        if (!LocalPaths.IsSafePath(Root))
        {
            throw new ArgumentException($"Disk store root {root} must be an absolute path of [A-Za-z0-9._/-].", nameof(root));
        }
    }

    public string Root { get; }

    public static bool IsValidDiskId(string? diskId) => diskId is not null && DiskIdPattern().IsMatch(diskId);

    public static bool IsValidSnapshotId(string? snapshotId) => snapshotId is not null && SnapshotIdPattern().IsMatch(snapshotId);

    public static string CheckDiskId(string diskId) =>
        IsValidDiskId(diskId) ? diskId : throw new ArgumentException($"Disk id must be 32 lowercase hex characters, not '{diskId}'.", nameof(diskId));

    public static void CheckSnapshotId(string snapshotId)
    {
        if (!IsValidSnapshotId(snapshotId))
        {
            throw new ArgumentException($"Snapshot id must be 1-64 of [A-Za-z0-9_-] starting with a letter or digit, not '{snapshotId}'.", nameof(snapshotId));
        }
    }

    public string DiskDir(string diskId) => Path.Combine(Root, CheckDiskId(diskId));

    public string DataDir(string diskId) => Path.Combine(DiskDir(diskId), DataName);

    public string SnapshotsDir(string diskId) => Path.Combine(DiskDir(diskId), SnapshotsName);

    /// <summary>Where a restore extracts the snapshot (half-extracted while it has this name).</summary>
    public string RestoreTmp(string diskId) => Path.Combine(DiskDir(diskId), RestoreTmpName);

    /// <summary>The extracted snapshot, complete but not yet swapped in.</summary>
    public string RestoreReady(string diskId) => Path.Combine(DiskDir(diskId), RestoreReadyName);

    /// <summary>The data directory; throws when it is missing or a symlink (never followed).</summary>
    public string RequireData(string diskId)
    {
        var data = DataDir(diskId);
        var info = new DirectoryInfo(data);
        if (!info.Exists || info.LinkTarget is not null)
        {
            throw new DirectoryNotFoundException($"Disk {diskId} does not exist (no {data}).");
        }

        return data;
    }

    [GeneratedRegex("^[0-9a-f]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex DiskIdPattern();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex SnapshotIdPattern();
}

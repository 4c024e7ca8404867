using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost.Disks;

/// <summary>Log messages of the on-host disk store (EventIds 2100-2139).</summary>
internal static partial class DiskLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Disk store at {Root}: snapshots are {Format} archives")]
    public static partial void StoreOpened(ILogger logger, string root, string format);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Created disk {DiskId}")]
    public static partial void Created(ILogger logger, string diskId);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Attached disk {DiskId} to uid {Uid} gid {Gid} in {ElapsedMs} ms")]
    public static partial void Attached(ILogger logger, string diskId, int uid, int gid, long elapsedMs);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "Detached disk {DiskId} (root-owned again) in {ElapsedMs} ms")]
    public static partial void Detached(ILogger logger, string diskId, long elapsedMs);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Information,
        Message = "Snapshot {SnapshotId} of disk {DiskId}: {FileCount} file(s), {SizeBytes} bytes, archive {ArchiveBytes} bytes, {ElapsedMs} ms")]
    public static partial void Snapshotted(ILogger logger, string diskId, string snapshotId, int fileCount, long sizeBytes, long archiveBytes, long elapsedMs);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Warning, Message = "Snapshot {SnapshotId} of disk {DiskId}: files changed while they were archived ({Detail})")]
    public static partial void SnapshotFilesChanged(ILogger logger, string diskId, string snapshotId, string detail);

    [LoggerMessage(EventId = 2112, Level = LogLevel.Information, Message = "Deleted snapshot {SnapshotId} of disk {DiskId}")]
    public static partial void SnapshotDeleted(ILogger logger, string diskId, string snapshotId);

    [LoggerMessage(EventId = 2120, Level = LogLevel.Information, Message = "Restored disk {DiskId} from snapshot {SnapshotId} in {ElapsedMs} ms; previous content kept as {Kept}")]
    public static partial void Restored(ILogger logger, string diskId, string snapshotId, long elapsedMs, string kept);

    [LoggerMessage(EventId = 2121, Level = LogLevel.Information, Message = "Removed {Count} pre-restore copy(ies) of disk {DiskId} after a successful snapshot")]
    public static partial void PreRestoreCopiesRemoved(ILogger logger, string diskId, int count);

    [LoggerMessage(EventId = 2125, Level = LogLevel.Information, Message = "Shell dotfiles of disk {DiskId} moved to {Backup} and recreated from {Skel}")]
    public static partial void DotfilesRecreated(ILogger logger, string diskId, string backup, string skel);

    [LoggerMessage(EventId = 2130, Level = LogLevel.Information, Message = "Purged disk {DiskId}")]
    public static partial void Purged(ILogger logger, string diskId);

    [LoggerMessage(EventId = 2131, Level = LogLevel.Warning, Message = "Disk store recovery: {Action}")]
    public static partial void Recovered(ILogger logger, string action);
}

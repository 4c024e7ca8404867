namespace GpuDev.Core.Disks;

/// <summary>Durable disk records. Every status change is one transaction; a disk is claimed by a reservation in the
/// same transaction that creates the reservation.</summary>
public interface IDiskStore
{
    /// <summary>Creates the disk; null when the user already has a (non-deleted) disk of that name.</summary>
    Task<Disk?> CreateDiskAsync(string userId, string name, DateTimeOffset at, CancellationToken cancellationToken);

    Task<Disk?> FindDiskAsync(string userId, string name, bool includeDeleted, CancellationToken cancellationToken);

    Task<Disk?> GetDiskAsync(string diskId, CancellationToken cancellationToken);

    Task<IReadOnlyList<Disk>> ListDisksAsync(string? userId, bool includeDeleted, CancellationToken cancellationToken);

    /// <summary>False when the new name is taken.</summary>
    Task<bool> RenameDiskAsync(string diskId, string newName, CancellationToken cancellationToken);

    /// <summary>Soft delete of an available disk; false when it is not available (in use, backing up, deleted).</summary>
    Task<bool> SoftDeleteDiskAsync(string diskId, DateTimeOffset at, DateTimeOffset purgeAt, CancellationToken cancellationToken);

    /// <summary>in-use → backing-up for the reservation holding it; true when it is (now) backing up for it.</summary>
    Task<bool> BeginBackupAsync(string diskId, string reservationId, CancellationToken cancellationToken);

    /// <summary>Records the snapshot and makes the disk available again, in one transaction.</summary>
    Task CompleteBackupAsync(string diskId, DiskSnapshot snapshot, long sizeBytes, CancellationToken cancellationToken);

    Task<IReadOnlyList<DiskSnapshot>> ListSnapshotsAsync(string diskId, CancellationToken cancellationToken);

    Task DeleteSnapshotRecordAsync(string snapshotId, CancellationToken cancellationToken);

    /// <summary>available → backing-up while its content is replaced (restore) by <paramref name="owner"/> (the server
    /// process doing it); false when it is not available.</summary>
    Task<bool> BeginRestoreAsync(string diskId, string owner, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>backing-up (restore, no reservation) → available.</summary>
    Task EndRestoreAsync(string diskId, long sizeBytes, CancellationToken cancellationToken);

    /// <summary>Restores under way: disks backing-up without a reservation, with who started them and when (owner and
    /// time are null for restores begun before they were recorded).</summary>
    Task<IReadOnlyList<DiskRestore>> ListRestoresAsync(CancellationToken cancellationToken);

    /// <summary>Brings a deleted, not yet purged disk back; false when a live disk has its name (or it is not deleted).</summary>
    Task<bool> UndeleteDiskAsync(string diskId, CancellationToken cancellationToken);

    /// <summary>Deleted disks whose purge date has passed and whose data is not purged yet.</summary>
    Task<IReadOnlyList<Disk>> ListPurgeableAsync(DateTimeOffset now, CancellationToken cancellationToken);

    Task MarkPurgedAsync(string diskId, DateTimeOffset at, CancellationToken cancellationToken);
}

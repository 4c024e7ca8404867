using System.Data.Common;
using GpuDev.Core.Disks;

namespace GpuDev.Storage;

/// <summary>Disk records (<see cref="IDiskStore"/>). Each status change is one conditional <c>UPDATE</c> (row-locked,
/// re-checked by a waiting writer). A user's live disk names are unique whatever their case (the unique index on
/// <c>(user_id, lower(name))</c>), so a create, rename or undelete onto a taken name answers "taken".</summary>
public sealed class DiskStore(SqlDatabase database) : IDiskStore
{
    private const string SelectDisk =
        """
        SELECT d.id, d.user_id, u.name, d.name, d.status, d.created_at, d.last_used_at, d.attached_reservation, d.size_bytes,
            d.deleted_at, d.purge_at,
            (SELECT COUNT(*)::integer FROM disk_snapshots s WHERE s.disk_id = d.id),
            (SELECT s.id FROM disk_snapshots s WHERE s.disk_id = d.id ORDER BY s.created_at DESC LIMIT 1),
            (SELECT MAX(s.created_at) FROM disk_snapshots s WHERE s.disk_id = d.id)
        FROM disks d JOIN users u ON u.id = d.user_id
        """;

    private SqlDialect Dialect => database.Dialect;

    public async Task<Disk?> CreateDiskAsync(string userId, string name, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        var created = await UnlessTakenAsync("INSERT INTO disks (id, user_id, name, status, created_at) VALUES (@id, @user, @name, 'available', @at);",
            cancellationToken, ("id", id), ("user", userId), ("name", name), ("at", SqlTime.ToMs(at)));
        return created ? await GetDiskAsync(id, cancellationToken) : null;
    }

    public async Task<Disk?> FindDiskAsync(string userId, string name, bool includeDeleted, CancellationToken cancellationToken) =>
        (await QueryDisksAsync($"WHERE d.user_id = @user AND lower(d.name) = lower(@name) AND d.purged_at IS NULL {(includeDeleted ? "" : "AND d.deleted_at IS NULL")} ORDER BY d.deleted_at IS NULL DESC, d.name = @name DESC, d.deleted_at DESC",
            cancellationToken, ("user", userId), ("name", name))).FirstOrDefault();

    public async Task<Disk?> GetDiskAsync(string diskId, CancellationToken cancellationToken) =>
        (await QueryDisksAsync("WHERE d.id = @id", cancellationToken, ("id", diskId))).FirstOrDefault();

    public Task<IReadOnlyList<Disk>> ListDisksAsync(string? userId, bool includeDeleted, CancellationToken cancellationToken)
    {
        var where = new List<string>();
        var parameters = new List<(string Name, object? Value)>();
        if (userId is not null)
        {
            where.Add("d.user_id = @user");
            parameters.Add(("user", userId));
        }

        where.Add("d.purged_at IS NULL");
        if (!includeDeleted)
        {
            where.Add("d.deleted_at IS NULL");
        }

        return QueryDisksAsync($"WHERE {string.Join(" AND ", where)} ORDER BY {Dialect.ByteOrder("u.name")}, {Dialect.ByteOrder("d.name")}", cancellationToken, [.. parameters]);
    }

    public Task<bool> RenameDiskAsync(string diskId, string newName, CancellationToken cancellationToken) =>
        UnlessTakenAsync("UPDATE disks SET name = @name WHERE id = @id AND deleted_at IS NULL;", cancellationToken, ("id", diskId), ("name", newName));

    public async Task<bool> SoftDeleteDiskAsync(string diskId, DateTimeOffset at, DateTimeOffset purgeAt, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("UPDATE disks SET status = 'deleted', deleted_at = @at, purge_at = @purge WHERE id = @id AND status = 'available';",
            cancellationToken, ("id", diskId), ("at", SqlTime.ToMs(at)), ("purge", SqlTime.ToMs(purgeAt))) == 1;

    public async Task<bool> BeginBackupAsync(string diskId, string reservationId, CancellationToken cancellationToken)
    {
        await using var session = await database.OpenAsync(cancellationToken);
        await session.ExecuteAsync("UPDATE disks SET status = 'backing-up' WHERE id = @id AND attached_reservation = @r AND status = 'in-use';",
            cancellationToken, ("id", diskId), ("r", reservationId));
        var status = await session.ScalarAsync("SELECT status FROM disks WHERE id = @id AND attached_reservation = @r;",
            cancellationToken, ("id", diskId), ("r", reservationId));
        return status is "backing-up";
    }

    public async Task CompleteBackupAsync(string diskId, DiskSnapshot snapshot, long sizeBytes, CancellationToken cancellationToken)
    {
        await using var session = await database.BeginWriteAsync(cancellationToken);
        await session.ExecuteAsync(
            """
            INSERT INTO disk_snapshots (id, disk_id, created_at, size_bytes, file_count, reservation_id) VALUES (@sid, @id, @at, @size, @files, @r::text)
            ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, size_bytes = excluded.size_bytes, file_count = excluded.file_count;
            """,
            cancellationToken, ("sid", snapshot.Id), ("id", diskId), ("at", SqlTime.ToMs(snapshot.CreatedAt)), ("size", snapshot.SizeBytes),
            ("files", snapshot.FileCount), ("r", snapshot.ReservationId));
        await session.ExecuteAsync(
            "UPDATE disks SET status = 'available', attached_reservation = NULL, last_used_at = @at, size_bytes = @size WHERE id = @id AND status = 'backing-up';",
            cancellationToken, ("id", diskId), ("at", SqlTime.ToMs(snapshot.CreatedAt)), ("size", sizeBytes));
        await session.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<DiskSnapshot>> ListSnapshotsAsync(string diskId, CancellationToken cancellationToken) =>
        await database.QueryAsync("SELECT id, disk_id, created_at, size_bytes, file_count, reservation_id FROM disk_snapshots WHERE disk_id = @id ORDER BY created_at DESC;",
            r => new DiskSnapshot(r.GetString(0), r.GetString(1), r.GetTime(2), r.GetInt64(3), r.GetInt32(4), r.GetStringOrNull(5)), cancellationToken, ("id", diskId));

    public async Task DeleteSnapshotRecordAsync(string snapshotId, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM disk_snapshots WHERE id = @id;", cancellationToken, ("id", snapshotId));

    public async Task<bool> BeginRestoreAsync(string diskId, string owner, DateTimeOffset at, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("UPDATE disks SET status = 'backing-up', restore_owner = @owner, restore_started_at = @at WHERE id = @id AND status = 'available';",
            cancellationToken, ("id", diskId), ("owner", owner), ("at", SqlTime.ToMs(at))) == 1;

    public async Task<IReadOnlyList<DiskRestore>> ListRestoresAsync(CancellationToken cancellationToken) =>
        await database.QueryAsync(
            $"SELECT id, restore_owner, restore_started_at FROM disks WHERE status = 'backing-up' AND attached_reservation IS NULL AND deleted_at IS NULL ORDER BY {Dialect.ByteOrder("id")};",
            r => new DiskRestore(r.GetString(0), r.GetStringOrNull(1), r.GetTimeOrNull(2)), cancellationToken);

    public async Task EndRestoreAsync(string diskId, long sizeBytes, CancellationToken cancellationToken) =>
        await database.ExecuteAsync(
            "UPDATE disks SET status = 'available', size_bytes = @size, restore_owner = NULL, restore_started_at = NULL WHERE id = @id AND status = 'backing-up' AND attached_reservation IS NULL;",
            cancellationToken, ("id", diskId), ("size", sizeBytes));

    public Task<bool> UndeleteDiskAsync(string diskId, CancellationToken cancellationToken) =>
        UnlessTakenAsync("UPDATE disks SET status = 'available', deleted_at = NULL, purge_at = NULL WHERE id = @id AND status = 'deleted' AND purged_at IS NULL;",
            cancellationToken, ("id", diskId));

    public Task<IReadOnlyList<Disk>> ListPurgeableAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        QueryDisksAsync("WHERE d.status = 'deleted' AND d.purged_at IS NULL AND d.purge_at <= @now", cancellationToken, ("now", SqlTime.ToMs(now)));

    public async Task MarkPurgedAsync(string diskId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var session = await database.BeginWriteAsync(cancellationToken);
        await session.ExecuteAsync("DELETE FROM disk_snapshots WHERE disk_id = @id;", cancellationToken, ("id", diskId));
        await session.ExecuteAsync("UPDATE disks SET purged_at = @at, size_bytes = 0 WHERE id = @id;", cancellationToken, ("id", diskId), ("at", SqlTime.ToMs(at)));
        await session.CommitAsync(cancellationToken);
    }

    /// <summary>Runs a statement that writes one disk's name; false when it changed nothing or the name is taken.</summary>
    private async Task<bool> UnlessTakenAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        try
        {
            return await database.ExecuteAsync(sql, cancellationToken, parameters) == 1;
        }
        catch (DbException e) when (Dialect.IsUniqueViolation(e))
        {
            return false;
        }
    }

    private async Task<IReadOnlyList<Disk>> QueryDisksAsync(string where, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters) =>
        await database.QueryAsync($"{SelectDisk} {where};", r => new Disk
        {
            Id = r.GetString(0),
            UserId = r.GetString(1),
            UserName = r.GetString(2),
            Name = r.GetString(3),
            Status = DiskRules.ParseWire(r.GetString(4)),
            CreatedAt = r.GetTime(5),
            LastUsedAt = r.GetTimeOrNull(6),
            AttachedReservationId = r.GetStringOrNull(7),
            SizeBytes = r.GetInt64(8),
            DeletedAt = r.GetTimeOrNull(9),
            PurgeAt = r.GetTimeOrNull(10),
            SnapshotCount = r.GetInt32(11),
            LatestSnapshotId = r.GetStringOrNull(12),
            LatestSnapshotAt = r.GetTimeOrNull(13),
        }, cancellationToken, parameters);
}

using GpuDev.Core.Disks;
using Npgsql;

namespace GpuDev.Storage.Postgres;

/// <summary>Disk records. Each status change is one conditional <c>UPDATE</c> (row-locked, re-checked by a waiting writer).</summary>
public sealed partial class PostgresStore : IDiskStore
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

    public async Task<Disk?> CreateDiskAsync(string userId, string name, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N");
        await using (var connection = await OpenAsync(cancellationToken))
        {
            try
            {
                await ExecuteAsync(connection, null,
                    "INSERT INTO disks (id, user_id, name, status, created_at) VALUES (@id, @user, @name, 'available', @at);",
                    cancellationToken, ("id", id), ("user", userId), ("name", name), ("at", ToMs(at)));
            }
            catch (PostgresException e) when (e.SqlState == UniqueViolation)
            {
                return null;
            }
        }

        return await GetDiskAsync(id, cancellationToken);
    }

    public async Task<Disk?> FindDiskAsync(string userId, string name, bool includeDeleted, CancellationToken cancellationToken)
    {
        var disks = await QueryDisksAsync($"WHERE d.user_id = @user AND lower(d.name) = lower(@name) AND d.purged_at IS NULL {(includeDeleted ? "" : "AND d.deleted_at IS NULL")} ORDER BY d.deleted_at IS NULL DESC, d.name = @name DESC, d.deleted_at DESC",
            cancellationToken, ("user", userId), ("name", name));
        return disks.FirstOrDefault();
    }

    public async Task<Disk?> GetDiskAsync(string diskId, CancellationToken cancellationToken) =>
        (await QueryDisksAsync("WHERE d.id = @id", cancellationToken, ("id", diskId))).FirstOrDefault();

    public Task<IReadOnlyList<Disk>> ListDisksAsync(string? userId, bool includeDeleted, CancellationToken cancellationToken)
    {
        var where = new List<string>();
        var parameters = new List<(string, object?)>();
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

        return QueryDisksAsync($"WHERE {string.Join(" AND ", where)} ORDER BY u.name COLLATE \"C\", d.name COLLATE \"C\"", cancellationToken, [.. parameters]);
    }

    public async Task<bool> RenameDiskAsync(string diskId, string newName, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        try
        {
            return await ExecuteAsync(connection, null, "UPDATE disks SET name = @name WHERE id = @id AND deleted_at IS NULL;",
                cancellationToken, ("id", diskId), ("name", newName)) == 1;
        }
        catch (PostgresException e) when (e.SqlState == UniqueViolation)
        {
            return false;
        }
    }

    public async Task<bool> SoftDeleteDiskAsync(string diskId, DateTimeOffset at, DateTimeOffset purgeAt, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ExecuteAsync(connection, null,
            "UPDATE disks SET status = 'deleted', deleted_at = @at, purge_at = @purge WHERE id = @id AND status = 'available';",
            cancellationToken, ("id", diskId), ("at", ToMs(at)), ("purge", ToMs(purgeAt))) == 1;
    }

    public async Task<bool> BeginBackupAsync(string diskId, string reservationId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null,
            "UPDATE disks SET status = 'backing-up' WHERE id = @id AND attached_reservation = @r AND status = 'in-use';",
            cancellationToken, ("id", diskId), ("r", reservationId));
        var status = await ScalarAsync(connection, null, "SELECT status FROM disks WHERE id = @id AND attached_reservation = @r;",
            cancellationToken, ("id", diskId), ("r", reservationId));
        return status is "backing-up";
    }

    public async Task CompleteBackupAsync(string diskId, DiskSnapshot snapshot, long sizeBytes, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction,
            """
            INSERT INTO disk_snapshots (id, disk_id, created_at, size_bytes, file_count, reservation_id) VALUES (@sid, @id, @at, @size, @files, @r::text)
            ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at, size_bytes = excluded.size_bytes, file_count = excluded.file_count;
            """,
            cancellationToken, ("sid", snapshot.Id), ("id", diskId), ("at", ToMs(snapshot.CreatedAt)), ("size", snapshot.SizeBytes),
            ("files", snapshot.FileCount), ("r", snapshot.ReservationId));
        await ExecuteAsync(connection, transaction,
            "UPDATE disks SET status = 'available', attached_reservation = NULL, last_used_at = @at, size_bytes = @size WHERE id = @id AND status = 'backing-up';",
            cancellationToken, ("id", diskId), ("at", ToMs(snapshot.CreatedAt)), ("size", sizeBytes));
        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<DiskSnapshot>> ListSnapshotsAsync(string diskId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT id, disk_id, created_at, size_bytes, file_count, reservation_id FROM disk_snapshots WHERE disk_id = @id ORDER BY created_at DESC;", ("id", diskId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var snapshots = new List<DiskSnapshot>();
        while (await reader.ReadAsync(cancellationToken))
        {
            snapshots.Add(new DiskSnapshot(reader.GetString(0), reader.GetString(1), FromMs(reader.GetInt64(2)), reader.GetInt64(3), reader.GetInt32(4),
                reader.IsDBNull(5) ? null : reader.GetString(5)));
        }

        return snapshots;
    }

    public async Task DeleteSnapshotRecordAsync(string snapshotId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "DELETE FROM disk_snapshots WHERE id = @id;", cancellationToken, ("id", snapshotId));
    }

    public async Task<bool> BeginRestoreAsync(string diskId, string owner, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ExecuteAsync(connection, null,
            "UPDATE disks SET status = 'backing-up', restore_owner = @owner, restore_started_at = @at WHERE id = @id AND status = 'available';",
            cancellationToken, ("id", diskId), ("owner", owner), ("at", ToMs(at))) == 1;
    }

    public async Task<IReadOnlyList<DiskRestore>> ListRestoresAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT id, restore_owner, restore_started_at FROM disks WHERE status = 'backing-up' AND attached_reservation IS NULL AND deleted_at IS NULL ORDER BY id COLLATE \"C\";");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var restores = new List<DiskRestore>();
        while (await reader.ReadAsync(cancellationToken))
        {
            restores.Add(new DiskRestore(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : FromMs(reader.GetInt64(2))));
        }

        return restores;
    }

    public async Task EndRestoreAsync(string diskId, long sizeBytes, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null,
            "UPDATE disks SET status = 'available', size_bytes = @size, restore_owner = NULL, restore_started_at = NULL WHERE id = @id AND status = 'backing-up' AND attached_reservation IS NULL;",
            cancellationToken, ("id", diskId), ("size", sizeBytes));
    }

    public async Task<bool> UndeleteDiskAsync(string diskId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        try
        {
            return await ExecuteAsync(connection, null,
                "UPDATE disks SET status = 'available', deleted_at = NULL, purge_at = NULL WHERE id = @id AND status = 'deleted' AND purged_at IS NULL;",
                cancellationToken, ("id", diskId)) == 1;
        }
        catch (PostgresException e) when (e.SqlState == UniqueViolation)
        {
            return false;
        }
    }

    public Task<IReadOnlyList<Disk>> ListPurgeableAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        QueryDisksAsync("WHERE d.status = 'deleted' AND d.purged_at IS NULL AND d.purge_at <= @now", cancellationToken, ("now", ToMs(now)));

    public async Task MarkPurgedAsync(string diskId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, "DELETE FROM disk_snapshots WHERE disk_id = @id;", cancellationToken, ("id", diskId));
        await ExecuteAsync(connection, transaction, "UPDATE disks SET purged_at = @at, size_bytes = 0 WHERE id = @id;", cancellationToken, ("id", diskId), ("at", ToMs(at)));
        await transaction.CommitAsync(cancellationToken);
    }

    private async Task<IReadOnlyList<Disk>> QueryDisksAsync(string where, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"{SelectDisk} {where};", parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var disks = new List<Disk>();
        while (await reader.ReadAsync(cancellationToken))
        {
            disks.Add(new Disk
            {
                Id = reader.GetString(0),
                UserId = reader.GetString(1),
                UserName = reader.GetString(2),
                Name = reader.GetString(3),
                Status = DiskRules.ParseWire(reader.GetString(4)),
                CreatedAt = FromMs(reader.GetInt64(5)),
                LastUsedAt = reader.IsDBNull(6) ? null : FromMs(reader.GetInt64(6)),
                AttachedReservationId = reader.IsDBNull(7) ? null : reader.GetString(7),
                SizeBytes = reader.GetInt64(8),
                DeletedAt = reader.IsDBNull(9) ? null : FromMs(reader.GetInt64(9)),
                PurgeAt = reader.IsDBNull(10) ? null : FromMs(reader.GetInt64(10)),
                SnapshotCount = reader.GetInt32(11),
                LatestSnapshotId = reader.IsDBNull(12) ? null : reader.GetString(12),
                LatestSnapshotAt = reader.IsDBNull(13) ? null : FromMs(reader.GetInt64(13)),
            });
        }

        return disks;
    }
}

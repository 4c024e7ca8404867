using System.Globalization;
using System.Text.Json;
using GpuDev.Core.Compute;
using GpuDev.Core.Disks;
using GpuDev.Core.Identity;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using Microsoft.Data.Sqlite;

namespace GpuDev.Storage.Sqlite;

/// <summary>The embedded store and job queue: one SQLite file in WAL mode. Every write runs in one
/// <c>BEGIN IMMEDIATE</c> transaction, so a state change and its follow-up job commit together.</summary>
public sealed partial class SqliteStore(string path, TimeProvider timeProvider) : IReservationStore, IJobQueue
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Cache = SqliteCacheMode.Private,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    public string Path { get; } = path;

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL;", cancellationToken);
        await ExecuteAsync(connection, null, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var version = Convert.ToInt32(await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_version;", cancellationToken), CultureInfo.InvariantCulture);
        for (var i = version; i < SqliteSchema.Migrations.Length; i++)
        {
            await ExecuteAsync(connection, transaction, SqliteSchema.Migrations[i], cancellationToken);
            await ExecuteAsync(connection, transaction, "INSERT INTO schema_version (version) VALUES ($v);", cancellationToken, ("$v", i + 1));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<User> AddUserAsync(string name, string? githubUser, bool isAdmin, string tokenHash, IReadOnlyList<string> sshKeys, CancellationToken cancellationToken)
    {
        var user = new User(Guid.NewGuid().ToString("N"), name, githubUser, isAdmin, timeProvider.GetUtcNow());
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction,
            "INSERT INTO users (id, name, github_user, is_admin, token_hash, created_at) VALUES ($id, $name, $gh, $admin, $hash, $at);",
            cancellationToken, ("$id", user.Id), ("$name", name), ("$gh", githubUser), ("$admin", isAdmin), ("$hash", tokenHash), ("$at", ToMs(user.CreatedAt)));
        foreach (var key in sshKeys.Distinct(StringComparer.Ordinal))
        {
            await ExecuteAsync(connection, transaction, "INSERT INTO ssh_keys (user_id, key) VALUES ($id, $key);", cancellationToken, ("$id", user.Id), ("$key", key));
        }

        await transaction.CommitAsync(cancellationToken);
        return user;
    }

    public Task<User?> FindUserByTokenHashAsync(string tokenHash, CancellationToken cancellationToken) =>
        FindUserAsync("token_hash = $v", tokenHash, cancellationToken);

    public Task<User?> FindUserByNameAsync(string name, CancellationToken cancellationToken) =>
        FindUserAsync("name = $v", name, cancellationToken);

    private async Task<User?> FindUserAsync(string where, string value, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT id, name, github_user, is_admin, created_at FROM users WHERE {where};", ("$v", value));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new User(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetBoolean(3), FromMs(reader.GetInt64(4)))
            : null;
    }

    public async Task<bool> SetGithubUserAsync(string userId, string? githubUser, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "UPDATE users SET github_user = $gh WHERE id = $id;", ("$gh", githubUser), ("$id", userId));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyList<string>> GetSshKeysAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT key FROM ssh_keys WHERE user_id = $id ORDER BY key;", ("$id", userId));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<string>();
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(reader.GetString(0));
        }

        return keys;
    }

    public async Task SyncNodesAsync(IReadOnlyList<ComputeNode> nodes, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction, "UPDATE nodes SET online = 0;", cancellationToken);
        foreach (var node in nodes)
        {
            await ExecuteAsync(connection, transaction,
                """
                INSERT INTO nodes (name, gpu_type, gpu_count, simulated, labels, online) VALUES ($name, $type, $count, $sim, $labels, 1)
                ON CONFLICT (name) DO UPDATE SET gpu_type = excluded.gpu_type, gpu_count = excluded.gpu_count,
                    simulated = excluded.simulated, labels = excluded.labels, online = 1;
                """,
                cancellationToken, ("$name", node.Name), ("$type", node.GpuType), ("$count", node.GpuCount), ("$sim", node.Simulated),
                ("$labels", JsonSerializer.Serialize(node.Labels ?? new Dictionary<string, string>(), SqliteJsonContext.Default.IReadOnlyDictionaryStringString)));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<ComputeNode>> GetNodesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT name, gpu_type, gpu_count, simulated, labels FROM nodes WHERE online = 1 ORDER BY name;");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var nodes = new List<ComputeNode>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var labels = JsonSerializer.Deserialize(reader.GetString(4), SqliteJsonContext.Default.IReadOnlyDictionaryStringString);
            nodes.Add(new ComputeNode(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetBoolean(3), labels));
        }

        return nodes;
    }

    public async Task<IReadOnlyList<GpuAllocation>> GetAllocationsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT node, gpu_index, reservation_id FROM gpu_allocations ORDER BY node, gpu_index;");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var allocations = new List<GpuAllocation>();
        while (await reader.ReadAsync(cancellationToken))
        {
            allocations.Add(new GpuAllocation(reader.GetString(0), reader.GetInt32(1), reader.GetString(2)));
        }

        return allocations;
    }

    public async Task<(Reservation Reservation, bool Created)> CreateReservationAsync(Reservation reservation, string? idempotencyKey, JobRequest? followUp, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        if (idempotencyKey is not null)
        {
            var existing = await ScalarAsync(connection, transaction, "SELECT id FROM reservations WHERE user_id = $u AND idempotency_key = $k;",
                cancellationToken, ("$u", reservation.UserId), ("$k", idempotencyKey));
            if (existing is string existingId)
            {
                await transaction.RollbackAsync(cancellationToken);
                return ((await LoadAsync(connection, null, existingId, cancellationToken))!, false);
            }
        }

        if (reservation.DiskId is { } diskId)
        {
            var claimed = await ExecuteAsync(connection, transaction,
                "UPDATE disks SET status = 'in-use', attached_reservation = $id WHERE id = $disk AND status = 'available';",
                cancellationToken, ("$id", reservation.Id), ("$disk", diskId));
            if (claimed == 0)
            {
                var holder = await ScalarAsync(connection, transaction, "SELECT attached_reservation FROM disks WHERE id = $disk;", cancellationToken, ("$disk", diskId));
                var name = await ScalarAsync(connection, transaction, "SELECT name FROM disks WHERE id = $disk;", cancellationToken, ("$disk", diskId));
                await transaction.RollbackAsync(cancellationToken);
                throw new DiskInUseException(name as string ?? diskId, holder as string);
            }
        }

        await ExecuteAsync(connection, transaction,
            """
            INSERT INTO reservations (id, seq, user_id, name, gpu_type, gpu_count, hours, node_count, jupyter, distributed, status,
                status_reason, created_at, idempotency_key, disk_id, recreate_env, environment_json)
            VALUES ($id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM reservations), $user, $name, $type, $count, $hours, $nodes, $jupyter,
                $distributed, $status, $reason, $at, $key, $disk, $recreate, $options);
            """,
            cancellationToken, ("$id", reservation.Id), ("$user", reservation.UserId), ("$name", reservation.Name), ("$type", reservation.GpuType),
            ("$count", reservation.GpuCount), ("$hours", reservation.Hours), ("$nodes", reservation.NodeCount), ("$jupyter", reservation.Jupyter),
            ("$distributed", reservation.Distributed), ("$status", reservation.Status.ToWire()), ("$reason", reservation.StatusReason),
            ("$at", ToMs(reservation.CreatedAt)), ("$key", idempotencyKey), ("$disk", reservation.DiskId), ("$recreate", reservation.RecreateEnv),
            ("$options", reservation.Options.IsDefault ? null : JsonSerializer.Serialize(reservation.Options, SqliteJsonContext.Default.EnvironmentOptions)));
        await AddHistoryAsync(connection, transaction, reservation.Id, reservation.CreatedAt, null, reservation.Status, reservation.StatusReason ?? "requested", cancellationToken);
        if (followUp is not null)
        {
            await EnqueueAsync(connection, transaction, followUp, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return ((await LoadAsync(connection, null, reservation.Id, cancellationToken))!, true);
    }

    public async Task<Reservation?> GetReservationAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await LoadAsync(connection, null, id, cancellationToken);
    }

    public async Task<IReadOnlyList<Reservation>> ListReservationsAsync(ReservationQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var where = new List<string>();
        var parameters = new List<(string, object?)>();
        if (query.UserId is not null && query.OrAddedGithubUser is not null)
        {
            where.Add("(r.user_id = $user OR r.id IN (SELECT reservation_id FROM reservation_users WHERE github_user = $gh))");
            parameters.Add(("$user", query.UserId));
            parameters.Add(("$gh", query.OrAddedGithubUser));
        }
        else if (query.UserId is not null)
        {
            // With an id prefix, "+" keeps SQLite on the primary-key range instead of walking the user's index.
            where.Add(query.IdPrefix is { Length: > 0 and < 32 } ? "+r.user_id = $user" : "r.user_id = $user");
            parameters.Add(("$user", query.UserId));
        }

        if (query.Statuses is { Count: > 0 } statuses)
        {
            var names = statuses.Select((s, i) => (Name: $"$s{i}", Value: s.ToWire())).ToList();
            where.Add($"r.status IN ({string.Join(", ", names.Select(n => n.Name))})");
            parameters.AddRange(names.Select(n => (n.Name, (object?)n.Value)));
        }

        if (query.IdPrefix is not null)
        {
            // Index-friendly: a full id is a primary-key lookup and a prefix a key range (binary collation), where
            // substr(r.id, ...) made SQLite walk every reservation of the user (or the whole table).
            if (query.IdPrefix.Length == 32)
            {
                where.Add("r.id = $prefix");
            }
            else if (query.IdPrefix.Length > 0)
            {
                where.Add("r.id >= $prefix AND r.id < $prefixEnd");
                parameters.Add(("$prefixEnd", query.IdPrefix[..^1] + (char)(query.IdPrefix[^1] + 1)));
            }

            parameters.Add(("$prefix", query.IdPrefix));
        }

        var sql = $"{SelectReservation} {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")} ORDER BY r.seq;";
        var reservations = new List<Reservation>();
        await using (var command = Command(connection, null, sql, [.. parameters]))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                reservations.Add(ReadReservation(reader));
            }
        }

        return reservations.Count == 0 ? reservations : await WithDetailsAsync(connection, null, reservations, cancellationToken);
    }

    public async Task<bool> TransitionAsync(ReservationTransition transition, CancellationToken cancellationToken)
    {
        if (!ReservationStateMachine.CanTransition(transition.From, transition.To))
        {
            throw new InvalidTransitionException(transition.From, transition.To);
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var changed = await ExecuteAsync(connection, transaction,
            """
            UPDATE reservations SET status = $to, status_reason = $reason,
                started_at = COALESCE($started, started_at), expires_at = COALESCE($expires, expires_at), ended_at = COALESCE($ended, ended_at),
                ssh_host = COALESCE($host, ssh_host), ssh_port = COALESCE($port, ssh_port), ssh_user = COALESCE($sshUser, ssh_user),
                ssh_host_key = COALESCE($hostKey, ssh_host_key),
                queue_position = CASE WHEN $to = 'queued' THEN queue_position ELSE NULL END,
                estimated_start_at = CASE WHEN $to = 'queued' THEN estimated_start_at ELSE NULL END,
                wait_reason = CASE WHEN $to IN ('queued', 'pending') THEN wait_reason ELSE NULL END
            WHERE id = $id AND status = $from;
            """,
            cancellationToken, ("$id", transition.ReservationId), ("$from", transition.From.ToWire()), ("$to", transition.To.ToWire()),
            ("$reason", transition.Reason), ("$started", ToMs(transition.StartedAt)), ("$expires", ToMs(transition.ExpiresAt)),
            ("$ended", ToMs(transition.EndedAt)), ("$host", transition.Ssh?.Host), ("$port", transition.Ssh?.Port),
            ("$sshUser", transition.Ssh?.User), ("$hostKey", transition.Ssh?.HostKey));
        if (changed == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return false;
        }

        await AddHistoryAsync(connection, transaction, transition.ReservationId, transition.At, transition.From, transition.To, transition.Reason, cancellationToken);
        if (transition.Allocate is { } allocations)
        {
            await AllocateAsync(connection, transaction, transition.ReservationId, allocations, cancellationToken);
        }

        for (var rank = 0; rank < (transition.NodeEndpoints?.Count ?? 0); rank++)
        {
            var ssh = transition.NodeEndpoints![rank];
            await ExecuteAsync(connection, transaction,
                "UPDATE reservation_nodes SET ssh_host = $host, ssh_port = $port, ssh_user = $user, ssh_host_key = $key WHERE reservation_id = $id AND rank = $rank;",
                cancellationToken, ("$id", transition.ReservationId), ("$rank", rank), ("$host", ssh.Host), ("$port", ssh.Port), ("$user", ssh.User), ("$key", ssh.HostKey));
        }

        if (transition.FollowUp is not null)
        {
            await EnqueueAsync(connection, transaction, transition.FollowUp, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private static async Task AllocateAsync(SqliteConnection connection, SqliteTransaction transaction, string reservationId, IReadOnlyList<NodeAllocation> allocations, CancellationToken cancellationToken)
    {
        foreach (var allocation in allocations)
        {
            await ExecuteAsync(connection, transaction,
                "INSERT INTO reservation_nodes (reservation_id, rank, node, gpu_indices) VALUES ($id, $rank, $node, $gpus);",
                cancellationToken, ("$id", reservationId), ("$rank", allocation.Rank), ("$node", allocation.Node),
                ("$gpus", string.Join(',', allocation.GpuIndices)));
            foreach (var index in allocation.GpuIndices)
            {
                try
                {
                    await ExecuteAsync(connection, transaction,
                        "INSERT INTO gpu_allocations (node, gpu_index, reservation_id) VALUES ($node, $index, $id);",
                        cancellationToken, ("$node", allocation.Node), ("$index", index), ("$id", reservationId));
                }
                catch (SqliteException e) when (e.SqliteErrorCode == 19)
                {
                    throw new AllocationConflictException($"GPU {index} on {allocation.Node} is already allocated.");
                }
            }
        }
    }

    public async Task ReleaseAllocationsAsync(string reservationId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "DELETE FROM gpu_allocations WHERE reservation_id = $id;", cancellationToken, ("$id", reservationId));
    }

    public async Task UpdateWaitInfoAsync(IReadOnlyList<WaitInfo> waitInfo, CancellationToken cancellationToken)
    {
        if (waitInfo.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        foreach (var info in waitInfo)
        {
            await ExecuteAsync(connection, transaction,
                "UPDATE reservations SET queue_position = $pos, estimated_start_at = $eta, wait_reason = $reason WHERE id = $id AND status IN ('pending', 'queued');",
                cancellationToken, ("$id", info.ReservationId), ("$pos", info.QueuePosition), ("$eta", ToMs(info.EstimatedStartAt)), ("$reason", info.Reason));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<bool> EditActiveAsync(ReservationEdit edit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var changed = await ExecuteAsync(connection, transaction,
            """
            UPDATE reservations SET expires_at = COALESCE($expires, expires_at), extended_hours = COALESCE($extended, extended_hours),
                extended_at = CASE WHEN $extended IS NULL THEN extended_at ELSE $at END,
                jupyter = COALESCE($jupyter, jupyter), jupyter_url = CASE WHEN $jupyter IS NULL THEN jupyter_url ELSE $url END
            WHERE id = $id AND status = 'active';
            """,
            cancellationToken, ("$id", edit.ReservationId), ("$expires", ToMs(edit.ExpiresAt)), ("$extended", edit.ExtendedHours),
            ("$jupyter", edit.Jupyter), ("$url", edit.JupyterUrl), ("$at", ToMs(edit.At)));
        if (changed == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return false;
        }

        if (edit.ClearWarnings)
        {
            await ExecuteAsync(connection, transaction, "DELETE FROM reservation_warnings WHERE reservation_id = $id;", cancellationToken, ("$id", edit.ReservationId));
        }

        foreach (var github in edit.AddUsers ?? [])
        {
            await ExecuteAsync(connection, transaction,
                "INSERT OR IGNORE INTO reservation_users (reservation_id, github_user, added_at) VALUES ($id, $gh, $at);",
                cancellationToken, ("$id", edit.ReservationId), ("$gh", github), ("$at", ToMs(edit.At)));
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<bool> RecordWarningsAsync(string reservationId, IReadOnlyList<int> thresholds, int deliver, string message, DateTimeOffset at, JobRequest followUp, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        foreach (var minutes in thresholds)
        {
            var inserted = await ExecuteAsync(connection, transaction,
                "INSERT OR IGNORE INTO reservation_warnings (reservation_id, minutes_before, at, message) VALUES ($id, $m, $at, $message);",
                cancellationToken, ("$id", reservationId), ("$m", minutes), ("$at", ToMs(at)), ("$message", minutes == deliver ? message : null));
            if (inserted == 0)
            {
                await transaction.RollbackAsync(cancellationToken);
                return false;
            }
        }

        await EnqueueAsync(connection, transaction, followUp, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<bool> AddNoteAsync(string reservationId, ReservationStatus whileIn, string note, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var added = await ExecuteAsync(connection, null,
            """
            INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason)
            SELECT id, $at, status, status, $reason FROM reservations WHERE id = $id AND status = $status;
            """,
            cancellationToken, ("$id", reservationId), ("$at", ToMs(at)), ("$status", whileIn.ToWire()), ("$reason", note));
        return added == 1;
    }

    public async Task MarkWarningDeliveredAsync(string reservationId, int minutesBefore, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null,
            "UPDATE reservation_warnings SET delivered_at = $at WHERE reservation_id = $id AND minutes_before = $m;",
            cancellationToken, ("$id", reservationId), ("$m", minutesBefore), ("$at", ToMs(at)));
    }

    public async Task EnqueueAsync(JobRequest job, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await EnqueueAsync(connection, null, job, cancellationToken);
    }

    public async Task<Job?> ClaimAsync(string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            """
            UPDATE jobs SET lease_owner = $owner, lease_until = $until, attempts = attempts + 1
            WHERE id = (SELECT id FROM jobs WHERE run_after <= $now AND (lease_until IS NULL OR lease_until <= $now) ORDER BY run_after, id LIMIT 1)
            RETURNING id, kind, reservation_id, attempts, run_after, created_at, last_error, lease_owner, lease_until;
            """,
            ("$owner", owner), ("$until", ToMs(now + lease)), ("$now", ToMs(now)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadJob(reader) : null;
    }

    public async Task CompleteAsync(long jobId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "DELETE FROM jobs WHERE id = $id;", cancellationToken, ("$id", jobId));
    }

    public async Task RetryAsync(long jobId, DateTimeOffset runAfter, string? error, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null,
            "UPDATE jobs SET lease_owner = NULL, lease_until = NULL, run_after = $after, last_error = $error, attempts = attempts - CASE WHEN $error IS NULL THEN 1 ELSE 0 END WHERE id = $id;",
            cancellationToken, ("$id", jobId), ("$after", ToMs(runAfter)), ("$error", error));
    }

    public async Task<IReadOnlyList<Job>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT id, kind, reservation_id, attempts, run_after, created_at, last_error, lease_owner, lease_until FROM jobs ORDER BY id;");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var jobs = new List<Job>();
        while (await reader.ReadAsync(cancellationToken))
        {
            jobs.Add(ReadJob(reader));
        }

        return jobs;
    }

    private static Job ReadJob(SqliteDataReader reader) => new(
        reader.GetInt64(0), Enum.Parse<JobKind>(reader.GetString(1)), reader.GetString(2), reader.GetInt32(3),
        FromMs(reader.GetInt64(4)), FromMs(reader.GetInt64(5)), reader.IsDBNull(6) ? null : reader.GetString(6))
    {
        LeaseOwner = reader.IsDBNull(7) ? null : reader.GetString(7),
        LeaseUntil = reader.IsDBNull(8) ? null : FromMs(reader.GetInt64(8)),
    };

    private static Task EnqueueAsync(SqliteConnection connection, SqliteTransaction? transaction, JobRequest job, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction,
            "INSERT INTO jobs (kind, reservation_id, run_after, created_at) VALUES ($kind, $id, $after, $after);",
            cancellationToken, ("$kind", job.Kind.ToString()), ("$id", job.ReservationId), ("$after", ToMs(job.RunAfter)));

    private static Task AddHistoryAsync(SqliteConnection connection, SqliteTransaction transaction, string id, DateTimeOffset at, ReservationStatus? from, ReservationStatus to, string reason, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction,
            "INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason) VALUES ($id, $at, $from, $to, $reason);",
            cancellationToken, ("$id", id), ("$at", ToMs(at)), ("$from", from?.ToWire()), ("$to", to.ToWire()), ("$reason", reason));

    private const string SelectReservation =
        """
        SELECT r.id, r.user_id, u.name, r.name, r.gpu_type, r.gpu_count, r.hours, r.node_count, r.jupyter, r.distributed, r.status,
            r.status_reason, r.created_at, r.started_at, r.expires_at, r.ended_at, r.ssh_host, r.ssh_port, r.ssh_user, r.ssh_host_key,
            r.queue_position, r.estimated_start_at, r.wait_reason, r.extended_hours, r.jupyter_url, r.disk_id,
            (SELECT d.name FROM disks d WHERE d.id = r.disk_id), r.recreate_env, r.environment_json, r.extended_at
        FROM reservations r JOIN users u ON u.id = r.user_id
        """;

    private static async Task<Reservation?> LoadAsync(SqliteConnection connection, SqliteTransaction? transaction, string id, CancellationToken cancellationToken)
    {
        Reservation reservation;
        await using (var command = Command(connection, transaction, $"{SelectReservation} WHERE r.id = $id;", ("$id", id)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            reservation = ReadReservation(reader);
        }

        return await WithDetailsAsync(connection, transaction, reservation, cancellationToken);
    }

    private static async Task<Reservation> WithDetailsAsync(SqliteConnection connection, SqliteTransaction? transaction, Reservation reservation, CancellationToken cancellationToken) =>
        (await WithDetailsAsync(connection, transaction, [reservation], cancellationToken))[0];

    /// <summary>Adds history, nodes, added users and warnings: four queries per chunk of reservations, not four per reservation.</summary>
    private static async Task<List<Reservation>> WithDetailsAsync(SqliteConnection connection, SqliteTransaction? transaction, IReadOnlyList<Reservation> reservations, CancellationToken cancellationToken)
    {
        var history = new Dictionary<string, List<HistoryEntry>>(StringComparer.Ordinal);
        var allocations = new Dictionary<string, List<NodeAllocation>>(StringComparer.Ordinal);
        var addedUsers = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var warnings = new Dictionary<string, List<ExpiryWarning>>(StringComparer.Ordinal);
        foreach (var chunk in reservations.Chunk(DetailChunk))
        {
            var ids = chunk.Select((r, i) => ($"$r{i}", (object?)r.Id)).ToArray();
            var inList = string.Join(", ", ids.Select(p => p.Item1));
            await using (var command = Command(connection, transaction,
                $"SELECT reservation_id, at, from_status, to_status, reason FROM reservation_history WHERE reservation_id IN ({inList}) ORDER BY id;", ids))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    Add(history, reader.GetString(0), new HistoryEntry(FromMs(reader.GetInt64(1)), reader.IsDBNull(2) ? null : ParseStatus(reader.GetString(2)),
                        ParseStatus(reader.GetString(3)), reader.GetString(4)));
                }
            }

            await using (var command = Command(connection, transaction,
                $"SELECT reservation_id, rank, node, gpu_indices, ssh_host, ssh_port, ssh_user, ssh_host_key FROM reservation_nodes WHERE reservation_id IN ({inList}) ORDER BY reservation_id, rank;", ids))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    var indices = reader.GetString(3).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();
                    Add(allocations, reader.GetString(0), new NodeAllocation(reader.GetInt32(1), reader.GetString(2), indices)
                    {
                        Ssh = reader.IsDBNull(4) ? null : new SshEndpoint(reader.GetString(4), reader.GetInt32(5), reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7)),
                    });
                }
            }

            await using (var command = Command(connection, transaction,
                $"SELECT reservation_id, github_user FROM reservation_users WHERE reservation_id IN ({inList}) ORDER BY reservation_id, added_at, github_user;", ids))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    Add(addedUsers, reader.GetString(0), reader.GetString(1));
                }
            }

            await using (var command = Command(connection, transaction,
                $"SELECT reservation_id, minutes_before, at, message, delivered_at FROM reservation_warnings WHERE reservation_id IN ({inList}) ORDER BY reservation_id, at, minutes_before DESC;", ids))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    Add(warnings, reader.GetString(0), new ExpiryWarning(reader.GetInt32(1), FromMs(reader.GetInt64(2)), reader.IsDBNull(3) ? null : reader.GetString(3),
                        reader.IsDBNull(4) ? null : FromMs(reader.GetInt64(4))));
                }
            }
        }

        return [.. reservations.Select(r => r with
        {
            History = history.GetValueOrDefault(r.Id) ?? [],
            Allocations = allocations.GetValueOrDefault(r.Id) ?? [],
            AddedUsers = addedUsers.GetValueOrDefault(r.Id) ?? [],
            Warnings = warnings.GetValueOrDefault(r.Id) ?? [],
        })];

        static void Add<T>(Dictionary<string, List<T>> map, string id, T item)
        {
            if (!map.TryGetValue(id, out var list))
            {
                map[id] = list = [];
            }

            list.Add(item);
        }
    }

    /// <summary>Reservations per detail query (well under SQLite's limit of bound parameters).</summary>
    private const int DetailChunk = 500;

    private static Reservation ReadReservation(SqliteDataReader r) => new()
    {
        Id = r.GetString(0),
        UserId = r.GetString(1),
        UserName = r.GetString(2),
        Name = r.IsDBNull(3) ? null : r.GetString(3),
        GpuType = r.GetString(4),
        GpuCount = r.GetInt32(5),
        Hours = r.GetDouble(6),
        NodeCount = r.GetInt32(7),
        Jupyter = r.GetBoolean(8),
        Distributed = r.GetBoolean(9),
        Status = ParseStatus(r.GetString(10)),
        StatusReason = r.IsDBNull(11) ? null : r.GetString(11),
        CreatedAt = FromMs(r.GetInt64(12)),
        StartedAt = r.IsDBNull(13) ? null : FromMs(r.GetInt64(13)),
        ExpiresAt = r.IsDBNull(14) ? null : FromMs(r.GetInt64(14)),
        EndedAt = r.IsDBNull(15) ? null : FromMs(r.GetInt64(15)),
        Ssh = r.IsDBNull(16) ? null : new SshEndpoint(r.GetString(16), r.GetInt32(17), r.GetString(18), r.IsDBNull(19) ? null : r.GetString(19)),
        QueuePosition = r.IsDBNull(20) ? null : r.GetInt32(20),
        EstimatedStartAt = r.IsDBNull(21) ? null : FromMs(r.GetInt64(21)),
        WaitReason = r.IsDBNull(22) ? null : r.GetString(22),
        ExtendedHours = r.GetDouble(23),
        JupyterUrl = r.IsDBNull(24) ? null : r.GetString(24),
        DiskId = r.IsDBNull(25) ? null : r.GetString(25),
        DiskName = r.IsDBNull(26) ? null : r.GetString(26),
        RecreateEnv = r.GetBoolean(27),
        Options = r.IsDBNull(28) ? EnvironmentOptions.None : JsonSerializer.Deserialize(r.GetString(28), SqliteJsonContext.Default.EnvironmentOptions) ?? EnvironmentOptions.None,
        ExtendedAt = r.IsDBNull(29) ? null : FromMs(r.GetInt64(29)),
    };

    private static ReservationStatus ParseStatus(string value) =>
        ReservationStateMachine.TryParseWire(value, out var status) ? status : throw new InvalidDataException($"Unknown status '{value}' in the store.");

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 30000;";
        await pragma.ExecuteNonQueryAsync(cancellationToken);
        return connection;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static async Task<int> ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    private static long? ToMs(DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();

    private static long ToMs(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    private static DateTimeOffset FromMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);
}

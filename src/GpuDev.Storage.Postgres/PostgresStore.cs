using System.Globalization;
using System.Text.Json;
using GpuDev.Core.Compute;
using GpuDev.Core.Disks;
using GpuDev.Core.Identity;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using Npgsql;

namespace GpuDev.Storage.Postgres;

/// <summary>The store and job queue for several server replicas on one PostgreSQL database. Writes run at READ
/// COMMITTED and rely on row locks and constraints for the guarantees SQLite's single writer gives: a status change is
/// a conditional <c>UPDATE ... WHERE status = from</c> (a concurrent one waits for the row lock, then re-checks and
/// finds the status changed), a GPU is the primary key <c>(node, gpu_index)</c> of <c>gpu_allocations</c> (a second
/// insert waits for the first transaction and then fails), the disk claim is a conditional <c>UPDATE</c>, and jobs are
/// claimed with <c>FOR UPDATE SKIP LOCKED</c>. A state change and its follow-up job commit in one transaction.</summary>
public sealed partial class PostgresStore(NpgsqlDataSource dataSource, TimeProvider timeProvider) : IReservationStore, IJobQueue
{
    private const string UniqueViolation = "23505";

    public NpgsqlDataSource DataSource { get; } = dataSource;

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Replicas starting at once: the first migrates, the others wait here and then find nothing left to do.
        await ExecuteAsync(connection, transaction, "SELECT pg_advisory_xact_lock(@key);", cancellationToken, ("key", PostgresSchema.MigrationLock));
        await ExecuteAsync(connection, transaction,
            "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());",
            cancellationToken);
        var version = Convert.ToInt32(await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;", cancellationToken), CultureInfo.InvariantCulture);
        for (var i = version; i < PostgresSchema.Migrations.Length; i++)
        {
            await ExecuteAsync(connection, transaction, PostgresSchema.Migrations[i], cancellationToken);
            await ExecuteAsync(connection, transaction, "INSERT INTO schema_migrations (version) VALUES (@v);", cancellationToken, ("v", i + 1));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The schema version applied (for tests and operations).</summary>
    public async Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return Convert.ToInt32(await ScalarAsync(connection, null, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations;", cancellationToken), CultureInfo.InvariantCulture);
    }

    public static int LatestSchemaVersion => PostgresSchema.Migrations.Length;

    public async Task<User> AddUserAsync(string name, string? githubUser, bool isAdmin, string tokenHash, IReadOnlyList<string> sshKeys, CancellationToken cancellationToken)
    {
        var user = new User(Guid.NewGuid().ToString("N"), name, githubUser, isAdmin, timeProvider.GetUtcNow());
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ExecuteAsync(connection, transaction,
            "INSERT INTO users (id, name, github_user, is_admin, token_hash, created_at) VALUES (@id, @name, @gh::text, @admin, @hash, @at);",
            cancellationToken, ("id", user.Id), ("name", name), ("gh", githubUser), ("admin", isAdmin), ("hash", tokenHash), ("at", ToMs(user.CreatedAt)));
        foreach (var key in sshKeys.Distinct(StringComparer.Ordinal))
        {
            await ExecuteAsync(connection, transaction, "INSERT INTO ssh_keys (user_id, key) VALUES (@id, @key);", cancellationToken, ("id", user.Id), ("key", key));
        }

        await transaction.CommitAsync(cancellationToken);
        return user;
    }

    public Task<User?> FindUserByTokenHashAsync(string tokenHash, CancellationToken cancellationToken) =>
        FindUserAsync("token_hash = @v", tokenHash, cancellationToken);

    public Task<User?> FindUserByNameAsync(string name, CancellationToken cancellationToken) =>
        FindUserAsync("name = @v", name, cancellationToken);

    private async Task<User?> FindUserAsync(string where, string value, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, $"SELECT id, name, github_user, is_admin, created_at FROM users WHERE {where};", ("v", value));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new User(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetBoolean(3), FromMs(reader.GetInt64(4)))
            : null;
    }

    public async Task<bool> SetGithubUserAsync(string userId, string? githubUser, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "UPDATE users SET github_user = @gh WHERE id = @id;", ("gh", githubUser), ("id", userId));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyList<string>> GetSshKeysAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT key FROM ssh_keys WHERE user_id = @id ORDER BY key COLLATE \"C\";", ("id", userId));
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
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Replicas starting together sync in turn (their row locks would otherwise be taken in different orders).
        await ExecuteAsync(connection, transaction, "LOCK TABLE nodes IN SHARE ROW EXCLUSIVE MODE;", cancellationToken);
        await ExecuteAsync(connection, transaction, "UPDATE nodes SET online = false;", cancellationToken);
        foreach (var node in nodes)
        {
            await ExecuteAsync(connection, transaction,
                """
                INSERT INTO nodes (name, gpu_type, gpu_count, simulated, labels, online) VALUES (@name, @type, @count, @sim, @labels, true)
                ON CONFLICT (name) DO UPDATE SET gpu_type = excluded.gpu_type, gpu_count = excluded.gpu_count,
                    simulated = excluded.simulated, labels = excluded.labels, online = true;
                """,
                cancellationToken, ("name", node.Name), ("type", node.GpuType), ("count", node.GpuCount), ("sim", node.Simulated),
                ("labels", JsonSerializer.Serialize(node.Labels ?? new Dictionary<string, string>(), PostgresJsonContext.Default.IReadOnlyDictionaryStringString)));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<ComputeNode>> GetNodesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT name, gpu_type, gpu_count, simulated, labels FROM nodes WHERE online ORDER BY name COLLATE \"C\";");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var nodes = new List<ComputeNode>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var labels = JsonSerializer.Deserialize(reader.GetString(4), PostgresJsonContext.Default.IReadOnlyDictionaryStringString);
            nodes.Add(new ComputeNode(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetBoolean(3), labels));
        }

        return nodes;
    }

    public async Task<IReadOnlyList<GpuAllocation>> GetAllocationsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT node, gpu_index, reservation_id FROM gpu_allocations ORDER BY node COLLATE \"C\", gpu_index;");
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
        if (idempotencyKey is not null && await FindByIdempotencyKeyAsync(connection, reservation.UserId, idempotencyKey, cancellationToken) is { } earlier)
        {
            return (earlier, false);
        }

        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            if (reservation.DiskId is { } diskId)
            {
                // The row lock makes the claim atomic: a concurrent claim waits, re-checks 'available' and finds it taken.
                var claimed = await ExecuteAsync(connection, transaction,
                    "UPDATE disks SET status = 'in-use', attached_reservation = @id WHERE id = @disk AND status = 'available';",
                    cancellationToken, ("id", reservation.Id), ("disk", diskId));
                if (claimed == 0)
                {
                    string? holder = null;
                    string? name = null;
                    await using (var command = Command(connection, transaction, "SELECT attached_reservation, name FROM disks WHERE id = @disk;", ("disk", diskId)))
                    await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
                    {
                        if (await reader.ReadAsync(cancellationToken))
                        {
                            holder = reader.IsDBNull(0) ? null : reader.GetString(0);
                            name = reader.GetString(1);
                        }
                    }

                    await transaction.RollbackAsync(cancellationToken);
                    if (idempotencyKey is not null && await FindByIdempotencyKeyAsync(connection, reservation.UserId, idempotencyKey, cancellationToken) is { } raced)
                    {
                        // The same request committed first on another connection and holds the disk itself.
                        return (raced, false);
                    }

                    throw new DiskInUseException(name ?? diskId, holder);
                }
            }

            try
            {
                await ExecuteAsync(connection, transaction,
                    """
                    INSERT INTO reservations (id, user_id, name, gpu_type, gpu_count, hours, node_count, jupyter, distributed, status,
                        status_reason, created_at, idempotency_key, disk_id, recreate_env, environment_json)
                    VALUES (@id, @user, @name::text, @type, @count, @hours, @nodes, @jupyter, @distributed, @status, @reason::text, @at,
                        @key::text, @disk::text, @recreate, @options::jsonb);
                    """,
                    cancellationToken, ("id", reservation.Id), ("user", reservation.UserId), ("name", reservation.Name), ("type", reservation.GpuType),
                    ("count", reservation.GpuCount), ("hours", reservation.Hours), ("nodes", reservation.NodeCount), ("jupyter", reservation.Jupyter),
                    ("distributed", reservation.Distributed), ("status", reservation.Status.ToWire()), ("reason", reservation.StatusReason),
                    ("at", ToMs(reservation.CreatedAt)), ("key", idempotencyKey), ("disk", reservation.DiskId), ("recreate", reservation.RecreateEnv),
                    ("options", reservation.Options.IsDefault ? null : JsonSerializer.Serialize(reservation.Options, PostgresJsonContext.Default.EnvironmentOptions)));
            }
            catch (PostgresException e) when (e.SqlState == UniqueViolation && e.ConstraintName == "ix_reservations_idempotency")
            {
                // The same request raced in on another connection (or replica) and committed first: answer with its reservation.
                await transaction.RollbackAsync(cancellationToken);
                return ((await FindByIdempotencyKeyAsync(connection, reservation.UserId, idempotencyKey!, cancellationToken))!, false);
            }

            await AddHistoryAsync(connection, transaction, reservation.Id, reservation.CreatedAt, null, reservation.Status, reservation.StatusReason ?? "requested", cancellationToken);
            if (followUp is not null)
            {
                await EnqueueAsync(connection, transaction, followUp, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }

        return ((await LoadAsync(connection, null, reservation.Id, cancellationToken))!, true);
    }

    private static async Task<Reservation?> FindByIdempotencyKeyAsync(NpgsqlConnection connection, string userId, string key, CancellationToken cancellationToken) =>
        await ScalarAsync(connection, null, "SELECT id FROM reservations WHERE user_id = @u AND idempotency_key = @k;", cancellationToken, ("u", userId), ("k", key)) is string id
            ? await LoadAsync(connection, null, id, cancellationToken)
            : null;

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
            where.Add("(r.user_id = @user OR r.id IN (SELECT reservation_id FROM reservation_users WHERE lower(github_user) = lower(@gh::text)))");
            parameters.Add(("user", query.UserId));
            parameters.Add(("gh", query.OrAddedGithubUser));
        }
        else if (query.UserId is not null)
        {
            where.Add("r.user_id = @user");
            parameters.Add(("user", query.UserId));
        }

        if (query.Statuses is { Count: > 0 } statuses)
        {
            where.Add("r.status = ANY(@statuses)");
            parameters.Add(("statuses", statuses.Select(s => s.ToWire()).ToArray()));
        }

        if (query.IdPrefix is not null)
        {
            if (HasNul(query.IdPrefix))
            {
                return []; // text cannot hold NUL, so no id matches (SQLite answers the same)
            }

            // A full id is a primary-key lookup, a shorter prefix a key range on ix_reservations_id_c; a plain
            // left(r.id, ...) = prefix made PostgreSQL scan every reservation of the user (or the whole table).
            if (query.IdPrefix.Length == 32)
            {
                where.Add("r.id = @prefix::text");
                parameters.Add(("prefix", query.IdPrefix));
            }
            else
            {
                where.Add(PrefixCondition("r.id", "prefix", query.IdPrefix, parameters));
            }
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
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var changed = await ExecuteAsync(connection, transaction,
            """
            UPDATE reservations SET status = @to, status_reason = @reason,
                started_at = COALESCE(@started::bigint, started_at), expires_at = COALESCE(@expires::bigint, expires_at),
                ended_at = COALESCE(@ended::bigint, ended_at),
                ssh_host = COALESCE(@host::text, ssh_host), ssh_port = COALESCE(@port::integer, ssh_port), ssh_user = COALESCE(@sshUser::text, ssh_user),
                ssh_host_key = COALESCE(@hostKey::text, ssh_host_key),
                queue_position = CASE WHEN @to = 'queued' THEN queue_position ELSE NULL END,
                estimated_start_at = CASE WHEN @to = 'queued' THEN estimated_start_at ELSE NULL END,
                wait_reason = CASE WHEN @to IN ('queued', 'pending') THEN wait_reason ELSE NULL END
            WHERE id = @id AND status = @from;
            """,
            cancellationToken, ("id", transition.ReservationId), ("from", transition.From.ToWire()), ("to", transition.To.ToWire()),
            ("reason", transition.Reason), ("started", ToMs(transition.StartedAt)), ("expires", ToMs(transition.ExpiresAt)),
            ("ended", ToMs(transition.EndedAt)), ("host", transition.Ssh?.Host), ("port", transition.Ssh?.Port),
            ("sshUser", transition.Ssh?.User), ("hostKey", transition.Ssh?.HostKey));
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
                "UPDATE reservation_nodes SET ssh_host = @host, ssh_port = @port, ssh_user = @user, ssh_host_key = @key::text WHERE reservation_id = @id AND rank = @rank;",
                cancellationToken, ("id", transition.ReservationId), ("rank", rank), ("host", ssh.Host), ("port", ssh.Port), ("user", ssh.User), ("key", ssh.HostKey));
        }

        if (transition.FollowUp is not null)
        {
            await EnqueueAsync(connection, transaction, transition.FollowUp, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private static async Task AllocateAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string reservationId, IReadOnlyList<NodeAllocation> allocations, CancellationToken cancellationToken)
    {
        foreach (var allocation in allocations)
        {
            await ExecuteAsync(connection, transaction,
                "INSERT INTO reservation_nodes (reservation_id, rank, node, gpu_indices) VALUES (@id, @rank, @node, @gpus);",
                cancellationToken, ("id", reservationId), ("rank", allocation.Rank), ("node", allocation.Node),
                ("gpus", string.Join(',', allocation.GpuIndices)));
        }

        // One order for every transaction, so two placements overlapping on several GPUs cannot deadlock.
        var gpus = allocations.SelectMany(a => a.GpuIndices.Select(i => (a.Node, Index: i))).Order().ToList();
        foreach (var (node, index) in gpus)
        {
            try
            {
                // A concurrent insert of the same (node, gpu) waits for the first transaction; once it commits this one fails.
                await ExecuteAsync(connection, transaction,
                    "INSERT INTO gpu_allocations (node, gpu_index, reservation_id) VALUES (@node, @index, @id);",
                    cancellationToken, ("node", node), ("index", index), ("id", reservationId));
            }
            catch (PostgresException e) when (e.SqlState == UniqueViolation)
            {
                await transaction.RollbackAsync(CancellationToken.None);
                throw new AllocationConflictException($"GPU {index} on {node} is already allocated.");
            }
        }
    }

    public async Task ReleaseAllocationsAsync(string reservationId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "DELETE FROM gpu_allocations WHERE reservation_id = @id;", cancellationToken, ("id", reservationId));
    }

    public async Task UpdateWaitInfoAsync(IReadOnlyList<WaitInfo> waitInfo, CancellationToken cancellationToken)
    {
        if (waitInfo.Count == 0)
        {
            return;
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var info in waitInfo)
        {
            await ExecuteAsync(connection, transaction,
                "UPDATE reservations SET queue_position = @pos::integer, estimated_start_at = @eta::bigint, wait_reason = @reason::text WHERE id = @id AND status IN ('pending', 'queued');",
                cancellationToken, ("id", info.ReservationId), ("pos", info.QueuePosition), ("eta", ToMs(info.EstimatedStartAt)), ("reason", info.Reason));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<bool> EditActiveAsync(ReservationEdit edit, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var changed = await ExecuteAsync(connection, transaction,
            """
            UPDATE reservations SET expires_at = COALESCE(@expires::bigint, expires_at), extended_hours = COALESCE(@extended::double precision, extended_hours),
                extended_at = CASE WHEN @extended::double precision IS NULL THEN extended_at ELSE @at::bigint END,
                jupyter = COALESCE(@jupyter::boolean, jupyter), jupyter_url = CASE WHEN @jupyter::boolean IS NULL THEN jupyter_url ELSE @url::text END
            WHERE id = @id AND status = 'active';
            """,
            cancellationToken, ("id", edit.ReservationId), ("expires", ToMs(edit.ExpiresAt)), ("extended", edit.ExtendedHours),
            ("jupyter", edit.Jupyter), ("url", edit.JupyterUrl), ("at", ToMs(edit.At)));
        if (changed == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return false;
        }

        if (edit.ClearWarnings)
        {
            await ExecuteAsync(connection, transaction, "DELETE FROM reservation_warnings WHERE reservation_id = @id;", cancellationToken, ("id", edit.ReservationId));
        }

        foreach (var github in edit.AddUsers ?? [])
        {
            await ExecuteAsync(connection, transaction,
                "INSERT INTO reservation_users (reservation_id, github_user, added_at) VALUES (@id, @gh, @at) ON CONFLICT DO NOTHING;",
                cancellationToken, ("id", edit.ReservationId), ("gh", github), ("at", ToMs(edit.At)));
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<bool> RecordWarningsAsync(string reservationId, IReadOnlyList<int> thresholds, int deliver, string message, DateTimeOffset at, JobRequest followUp, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var minutes in thresholds)
        {
            var inserted = await ExecuteAsync(connection, transaction,
                "INSERT INTO reservation_warnings (reservation_id, minutes_before, at, message) VALUES (@id, @m, @at, @message::text) ON CONFLICT DO NOTHING;",
                cancellationToken, ("id", reservationId), ("m", minutes), ("at", ToMs(at)), ("message", minutes == deliver ? message : null));
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
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The row lock keeps the status from changing between the check and the insert (SQLite's single writer does the same).
        var added = await ExecuteAsync(connection, transaction,
            """
            INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason)
            SELECT id, @at, status, status, @reason FROM reservations WHERE id = @id AND status = @status FOR UPDATE;
            """,
            cancellationToken, ("id", reservationId), ("at", ToMs(at)), ("status", whileIn.ToWire()), ("reason", note));
        await transaction.CommitAsync(cancellationToken);
        return added == 1;
    }

    public async Task MarkWarningDeliveredAsync(string reservationId, int minutesBefore, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null,
            "UPDATE reservation_warnings SET delivered_at = @at WHERE reservation_id = @id AND minutes_before = @m;",
            cancellationToken, ("id", reservationId), ("m", minutesBefore), ("at", ToMs(at)));
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
        // SKIP LOCKED: concurrent claimers each take a different due job instead of queueing on the same row.
        await using var command = Command(connection, null,
            """
            UPDATE jobs SET lease_owner = @owner, lease_until = @until, attempts = attempts + 1
            WHERE id = (SELECT id FROM jobs WHERE run_after <= @now AND (lease_until IS NULL OR lease_until <= @now)
                        ORDER BY run_after, id LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING id, kind, reservation_id, attempts, run_after, created_at, last_error, lease_owner, lease_until;
            """,
            ("owner", owner), ("until", ToMs(now + lease)), ("now", ToMs(now)));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadJob(reader) : null;
    }

    public async Task CompleteAsync(long jobId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "DELETE FROM jobs WHERE id = @id;", cancellationToken, ("id", jobId));
    }

    public async Task RetryAsync(long jobId, DateTimeOffset runAfter, string? error, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null,
            "UPDATE jobs SET lease_owner = NULL, lease_until = NULL, run_after = @after, last_error = @error::text, attempts = attempts - CASE WHEN @error::text IS NULL THEN 1 ELSE 0 END WHERE id = @id;",
            cancellationToken, ("id", jobId), ("after", ToMs(runAfter)), ("error", error));
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

    private static Job ReadJob(NpgsqlDataReader reader) => new(
        reader.GetInt64(0), Enum.Parse<JobKind>(reader.GetString(1)), reader.GetString(2), reader.GetInt32(3),
        FromMs(reader.GetInt64(4)), FromMs(reader.GetInt64(5)), reader.IsDBNull(6) ? null : reader.GetString(6))
    {
        LeaseOwner = reader.IsDBNull(7) ? null : reader.GetString(7),
        LeaseUntil = reader.IsDBNull(8) ? null : FromMs(reader.GetInt64(8)),
    };

    private static Task EnqueueAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, JobRequest job, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction,
            "INSERT INTO jobs (kind, reservation_id, run_after, created_at) VALUES (@kind, @id, @after, @after);",
            cancellationToken, ("kind", job.Kind.ToString()), ("id", job.ReservationId), ("after", ToMs(job.RunAfter)));

    private static Task AddHistoryAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string id, DateTimeOffset at, ReservationStatus? from, ReservationStatus to, string reason, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, transaction,
            "INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason) VALUES (@id, @at, @from::text, @to, @reason);",
            cancellationToken, ("id", id), ("at", ToMs(at)), ("from", from?.ToWire()), ("to", to.ToWire()), ("reason", reason));

    private const string SelectReservation =
        """
        SELECT r.id, r.user_id, u.name, r.name, r.gpu_type, r.gpu_count, r.hours, r.node_count, r.jupyter, r.distributed, r.status,
            r.status_reason, r.created_at, r.started_at, r.expires_at, r.ended_at, r.ssh_host, r.ssh_port, r.ssh_user, r.ssh_host_key,
            r.queue_position, r.estimated_start_at, r.wait_reason, r.extended_hours, r.jupyter_url, r.disk_id,
            (SELECT d.name FROM disks d WHERE d.id = r.disk_id), r.recreate_env, r.environment_json::text, r.extended_at
        FROM reservations r JOIN users u ON u.id = r.user_id
        """;

    /// <summary>One reservation with its details, in one round trip (the reservation and its four detail queries as one batch).</summary>
    private static async Task<Reservation?> LoadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string id, CancellationToken cancellationToken)
    {
        if (HasNul(id))
        {
            return null;
        }

        await using var batch = DetailBatch(connection, transaction, [id]);
        batch.BatchCommands.Insert(0, new NpgsqlBatchCommand($"{SelectReservation} WHERE r.id = $1;") { Parameters = { new NpgsqlParameter { Value = id } } });
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var reservation = ReadReservation(reader);
        await reader.NextResultAsync(cancellationToken);
        return (await ReadDetailsAsync(reader, [reservation], cancellationToken))[0];
    }

    /// <summary>Adds history, nodes, added users and warnings to many reservations: one round trip of four queries
    /// (<c>reservation_id = ANY(ids)</c>), not four queries per reservation.</summary>
    private static async Task<List<Reservation>> WithDetailsAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<Reservation> reservations, CancellationToken cancellationToken)
    {
        await using var batch = DetailBatch(connection, transaction, [.. reservations.Select(r => r.Id)]);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        return await ReadDetailsAsync(reader, reservations, cancellationToken);
    }

    private static NpgsqlBatch DetailBatch(NpgsqlConnection connection, NpgsqlTransaction? transaction, string[] ids)
    {
        var batch = new NpgsqlBatch(connection, transaction);
        foreach (var sql in DetailQueries)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(sql) { Parameters = { new NpgsqlParameter<string[]> { TypedValue = ids } } });
        }

        return batch;
    }

    /// <summary>History, nodes, added users and warnings of the reservations in <c>$1</c> (a text array), in the order
    /// <see cref="ReadDetailsAsync"/> reads them.</summary>
    private static readonly string[] DetailQueries =
    [
        "SELECT reservation_id, at, from_status, to_status, reason FROM reservation_history WHERE reservation_id = ANY($1) ORDER BY id;",
        "SELECT reservation_id, rank, node, gpu_indices, ssh_host, ssh_port, ssh_user, ssh_host_key FROM reservation_nodes WHERE reservation_id = ANY($1) ORDER BY reservation_id, rank;",
        "SELECT reservation_id, github_user FROM reservation_users WHERE reservation_id = ANY($1) ORDER BY reservation_id, added_at, github_user COLLATE \"C\";",
        "SELECT reservation_id, minutes_before, at, message, delivered_at FROM reservation_warnings WHERE reservation_id = ANY($1) ORDER BY reservation_id, at, minutes_before DESC;",
    ];

    /// <summary>Reads the four result sets of <see cref="DetailQueries"/>, the reader standing at the first.</summary>
    private static async Task<List<Reservation>> ReadDetailsAsync(NpgsqlDataReader reader, IReadOnlyList<Reservation> reservations, CancellationToken cancellationToken)
    {
        var history = new Dictionary<string, List<HistoryEntry>>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            Add(history, reader.GetString(0), new HistoryEntry(FromMs(reader.GetInt64(1)), reader.IsDBNull(2) ? null : ParseStatus(reader.GetString(2)),
                ParseStatus(reader.GetString(3)), reader.GetString(4)));
        }

        await reader.NextResultAsync(cancellationToken);
        var allocations = new Dictionary<string, List<NodeAllocation>>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            var indices = reader.GetString(3).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();
            Add(allocations, reader.GetString(0), new NodeAllocation(reader.GetInt32(1), reader.GetString(2), indices)
            {
                Ssh = reader.IsDBNull(4) ? null : new SshEndpoint(reader.GetString(4), reader.GetInt32(5), reader.GetString(6), reader.IsDBNull(7) ? null : reader.GetString(7)),
            });
        }

        await reader.NextResultAsync(cancellationToken);
        var addedUsers = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            Add(addedUsers, reader.GetString(0), reader.GetString(1));
        }

        await reader.NextResultAsync(cancellationToken);
        var warnings = new Dictionary<string, List<ExpiryWarning>>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            Add(warnings, reader.GetString(0), new ExpiryWarning(reader.GetInt32(1), FromMs(reader.GetInt64(2)), reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : FromMs(reader.GetInt64(4))));
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

    private static Reservation ReadReservation(NpgsqlDataReader r) => new()
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
        Options = r.IsDBNull(28) ? EnvironmentOptions.None : JsonSerializer.Deserialize(r.GetString(28), PostgresJsonContext.Default.EnvironmentOptions) ?? EnvironmentOptions.None,
        ExtendedAt = r.IsDBNull(29) ? null : FromMs(r.GetInt64(29)),
    };

    private static ReservationStatus ParseStatus(string value) =>
        ReservationStateMachine.TryParseWire(value, out var status) ? status : throw new InvalidDataException($"Unknown status '{value}' in the store.");

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken) =>
        await DataSource.OpenConnectionAsync(cancellationToken);

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<object?> ScalarAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    /// <summary>Whether <paramref name="value"/> holds a NUL, which PostgreSQL text cannot (such a value matches nothing stored).</summary>
    private static bool HasNul(string? value) => value?.Contains('\0', StringComparison.Ordinal) == true;

    /// <summary>"<paramref name="column"/> starts with <paramref name="prefix"/>" as a key range under the "C" collation
    /// (byte order, as SQLite's binary collation), so an index on <c>(column COLLATE "C")</c> serves it whatever the
    /// database's default collation; <c>starts_with</c> keeps the result exact at the range's edges.</summary>
    private static string PrefixCondition(string column, string name, string prefix, List<(string, object?)> parameters)
    {
        parameters.Add((name, prefix));
        if (prefix.Length == 0)
        {
            return "true";
        }

        var last = prefix[^1];
        if (char.IsSurrogate(last) || last >= '\uD7FF')
        {
            return $"starts_with({column}, @{name}::text)";
        }

        parameters.Add(($"{name}End", prefix[..^1] + (char)(last + 1)));
        return $"{column} COLLATE \"C\" >= @{name}::text AND {column} COLLATE \"C\" < @{name}End::text AND starts_with({column}, @{name}::text)";
    }

    private static long? ToMs(DateTimeOffset? value) => value?.ToUnixTimeMilliseconds();

    private static long ToMs(DateTimeOffset value) => value.ToUnixTimeMilliseconds();

    private static DateTimeOffset FromMs(long value) => DateTimeOffset.FromUnixTimeMilliseconds(value);
}

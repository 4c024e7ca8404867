using System.Data.Common;
using System.Text.Json;
using GpuDev.Core.Disks;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;

namespace GpuDev.Storage;

/// <summary>Reservation writes. Each is one write transaction, so a state change and its follow-up job commit together.
/// Where writers run concurrently (PostgreSQL at READ COMMITTED) row locks and constraints give what SQLite's single
/// writer gives: a status change is a conditional <c>UPDATE ... WHERE status = from</c> (a concurrent one waits for the
/// row lock, then re-checks and finds the status changed), a GPU is the primary key <c>(node, gpu_index)</c> of
/// <c>gpu_allocations</c> (a second insert waits for the first transaction and then fails), and the disk claim is a
/// conditional <c>UPDATE</c>.</summary>
public sealed partial class ReservationStore
{
    private const string IdempotencyIndex = "ix_reservations_idempotency";

    public async Task<(Reservation Reservation, bool Created)> CreateReservationAsync(Reservation reservation, string? idempotencyKey, JobRequest? followUp, CancellationToken cancellationToken)
    {
        await using var session = await database.BeginWriteAsync(cancellationToken);
        if (idempotencyKey is not null && await IdByKeyAsync(session, reservation.UserId, idempotencyKey, cancellationToken) is { } earlier)
        {
            await session.RollbackAsync(cancellationToken);
            return ((await ReservationRows.LoadAsync(session, earlier, cancellationToken))!, false);
        }

        if (reservation.DiskId is { } diskId && !await ClaimDiskAsync(session, reservation.Id, diskId, cancellationToken))
        {
            var disk = (await session.QueryAsync("SELECT attached_reservation, name FROM disks WHERE id = @disk;",
                r => (Holder: r.GetStringOrNull(0), Name: (string?)r.GetString(1)), cancellationToken, ("disk", diskId))).FirstOrDefault();
            await session.RollbackAsync(cancellationToken);
            if (idempotencyKey is not null && await IdByKeyAsync(session, reservation.UserId, idempotencyKey, cancellationToken) is { } raced)
            {
                // The same request committed first on another connection and holds the disk itself.
                return ((await ReservationRows.LoadAsync(session, raced, cancellationToken))!, false);
            }

            throw new DiskInUseException(disk.Name ?? diskId, disk.Holder);
        }

        var seq = Dialect.NextValue("reservations", "seq");
        try
        {
            await session.ExecuteAsync(
                $"""
                INSERT INTO reservations (id, {(seq is null ? "" : "seq, ")}user_id, name, gpu_type, gpu_count, hours, node_count, jupyter, distributed, status,
                    status_reason, created_at, idempotency_key, disk_id, recreate_env, environment_json)
                VALUES (@id, {(seq is null ? "" : seq + ", ")}@user, @name::text, @type, @count, @hours, @nodes, @jupyter, @distributed, @status, @reason::text, @at,
                    @key::text, @disk::text, @recreate, @options::jsonb);
                """,
                cancellationToken, ("id", reservation.Id), ("user", reservation.UserId), ("name", reservation.Name), ("type", reservation.GpuType),
                ("count", reservation.GpuCount), ("hours", reservation.Hours), ("nodes", reservation.NodeCount), ("jupyter", reservation.Jupyter),
                ("distributed", reservation.Distributed), ("status", reservation.Status.ToWire()), ("reason", reservation.StatusReason),
                ("at", SqlTime.ToMs(reservation.CreatedAt)), ("key", idempotencyKey), ("disk", reservation.DiskId), ("recreate", reservation.RecreateEnv),
                ("options", reservation.Options.IsDefault ? null : JsonSerializer.Serialize(reservation.Options, StorageJsonContext.Default.EnvironmentOptions)));
        }
        catch (DbException e) when (Dialect.IsUniqueViolation(e, IdempotencyIndex))
        {
            // The same request raced in on another connection (or replica) and committed first: answer with its reservation.
            await session.RollbackAsync(cancellationToken);
            var winner = await IdByKeyAsync(session, reservation.UserId, idempotencyKey!, cancellationToken);
            return ((await ReservationRows.LoadAsync(session, winner!, cancellationToken))!, false);
        }

        await AddHistoryAsync(session, reservation.Id, reservation.CreatedAt, null, reservation.Status, reservation.StatusReason ?? "requested", cancellationToken);
        if (followUp is not null)
        {
            await JobQueue.EnqueueAsync(session, followUp, cancellationToken);
        }

        await session.CommitAsync(cancellationToken);
        return ((await ReservationRows.LoadAsync(session, reservation.Id, cancellationToken))!, true);
    }

    public async Task<bool> IdempotencyKeyUsedAsync(string userId, string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var session = await database.OpenAsync(cancellationToken);
        return await IdByKeyAsync(session, userId, idempotencyKey, cancellationToken) is not null;
    }

    private static async Task<string?> IdByKeyAsync(SqlSession session, string userId, string key, CancellationToken cancellationToken) =>
        await session.ScalarAsync("SELECT id FROM reservations WHERE user_id = @u AND idempotency_key = @k;", cancellationToken, ("u", userId), ("k", key)) as string;

    /// <summary>available → in-use for the reservation; the row lock makes the claim atomic (a concurrent claim waits,
    /// re-checks 'available' and finds it taken).</summary>
    private static async Task<bool> ClaimDiskAsync(SqlSession session, string reservationId, string diskId, CancellationToken cancellationToken) =>
        await session.ExecuteAsync("UPDATE disks SET status = 'in-use', attached_reservation = @id WHERE id = @disk AND status = 'available';",
            cancellationToken, ("id", reservationId), ("disk", diskId)) == 1;

    public async Task<bool> TransitionAsync(ReservationTransition transition, CancellationToken cancellationToken)
    {
        if (!ReservationStateMachine.CanTransition(transition.From, transition.To))
        {
            throw new InvalidTransitionException(transition.From, transition.To);
        }

        await using var session = await database.BeginWriteAsync(cancellationToken);
        var changed = await session.ExecuteAsync(
            """
            UPDATE reservations SET status = @to, status_reason = @reason,
                started_at = COALESCE(@started::bigint, started_at), expires_at = COALESCE(@expires::bigint, expires_at),
                ended_at = COALESCE(@ended::bigint, ended_at),
                ssh_host = COALESCE(@host::text, ssh_host), ssh_port = COALESCE(@port::integer, ssh_port), ssh_user = COALESCE(@sshUser::text, ssh_user),
                ssh_host_key = COALESCE(@hostKey::text, ssh_host_key),
                jupyter = COALESCE(@jupyter::boolean, jupyter), jupyter_url = CASE WHEN @jupyter::boolean IS NULL THEN jupyter_url ELSE @jupyterUrl::text END,
                queue_position = CASE WHEN @to = 'queued' THEN queue_position ELSE NULL END,
                estimated_start_at = CASE WHEN @to = 'queued' THEN estimated_start_at ELSE NULL END,
                likely_start_at = CASE WHEN @to = 'queued' THEN likely_start_at ELSE NULL END,
                planned_nodes = CASE WHEN @to = 'queued' THEN planned_nodes ELSE NULL END,
                wait_reason = CASE WHEN @to IN ('queued', 'pending') THEN wait_reason ELSE NULL END
            WHERE id = @id AND status = @from;
            """,
            cancellationToken, ("id", transition.ReservationId), ("from", transition.From.ToWire()), ("to", transition.To.ToWire()),
            ("reason", transition.Reason), ("started", SqlTime.ToMs(transition.StartedAt)), ("expires", SqlTime.ToMs(transition.ExpiresAt)),
            ("ended", SqlTime.ToMs(transition.EndedAt)), ("host", transition.Ssh?.Host), ("port", transition.Ssh?.Port),
            ("sshUser", transition.Ssh?.User), ("hostKey", transition.Ssh?.HostKey), ("jupyter", transition.Jupyter), ("jupyterUrl", transition.JupyterUrl));
        if (changed == 0)
        {
            await session.RollbackAsync(cancellationToken);
            return false;
        }

        await AddHistoryAsync(session, transition.ReservationId, transition.At, transition.From, transition.To, transition.Reason, cancellationToken);
        if (transition.Allocate is { } allocations)
        {
            await AllocateAsync(session, transition.ReservationId, allocations, cancellationToken);
        }

        for (var rank = 0; rank < (transition.NodeEndpoints?.Count ?? 0); rank++)
        {
            var ssh = transition.NodeEndpoints![rank];
            await session.ExecuteAsync(
                "UPDATE reservation_nodes SET ssh_host = @host, ssh_port = @port, ssh_user = @user, ssh_host_key = @key::text WHERE reservation_id = @id AND rank = @rank;",
                cancellationToken, ("id", transition.ReservationId), ("rank", rank), ("host", ssh.Host), ("port", ssh.Port), ("user", ssh.User), ("key", ssh.HostKey));
        }

        if (transition.FollowUp is not null)
        {
            await JobQueue.EnqueueAsync(session, transition.FollowUp, cancellationToken);
        }

        await session.CommitAsync(cancellationToken);
        return true;
    }

    private static async Task AllocateAsync(SqlSession session, string reservationId, IReadOnlyList<NodeAllocation> allocations, CancellationToken cancellationToken)
    {
        foreach (var allocation in allocations)
        {
            await session.ExecuteAsync(
                "INSERT INTO reservation_nodes (reservation_id, rank, node, gpu_indices) VALUES (@id, @rank, @node, @gpus);",
                cancellationToken, ("id", reservationId), ("rank", allocation.Rank), ("node", allocation.Node), ("gpus", string.Join(',', allocation.GpuIndices)));
        }

        // One order for every transaction, so two placements overlapping on several GPUs cannot deadlock.
        var gpus = allocations.SelectMany(a => a.GpuIndices.Select(i => (a.Node, Index: i))).Order().ToList();
        foreach (var (node, index) in gpus)
        {
            try
            {
                // A concurrent insert of the same (node, gpu) waits for the first transaction; once it commits this one fails.
                await session.ExecuteAsync("INSERT INTO gpu_allocations (node, gpu_index, reservation_id) VALUES (@node, @index, @id);",
                    cancellationToken, ("node", node), ("index", index), ("id", reservationId));
            }
            catch (DbException e) when (session.Dialect.IsUniqueViolation(e))
            {
                await session.RollbackAsync(CancellationToken.None);
                throw new AllocationConflictException($"GPU {index} on {node} is already allocated.");
            }
        }
    }

    public async Task ReleaseAllocationsAsync(string reservationId, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM gpu_allocations WHERE reservation_id = @id;", cancellationToken, ("id", reservationId));

    /// <remarks>Rows whose wait information is unchanged are not written: a scheduling pass repeats most of it, and a
    /// written row would move the read cache's revision (and so drop every cached answer) for nothing.</remarks>
    public async Task UpdateWaitInfoAsync(IReadOnlyList<WaitInfo> waitInfo, CancellationToken cancellationToken)
    {
        if (waitInfo.Count == 0)
        {
            return;
        }

        await using var session = await database.BeginWriteAsync(cancellationToken);
        foreach (var info in waitInfo)
        {
            await session.ExecuteAsync(
                """
                UPDATE reservations SET queue_position = @pos::integer, estimated_start_at = @eta::bigint, wait_reason = @reason::text,
                    likely_start_at = @likely::bigint, planned_nodes = @nodes::text
                WHERE id = @id AND status IN ('pending', 'queued') AND (queue_position IS DISTINCT FROM @pos::integer
                    OR estimated_start_at IS DISTINCT FROM @eta::bigint OR wait_reason IS DISTINCT FROM @reason::text
                    OR likely_start_at IS DISTINCT FROM @likely::bigint OR planned_nodes IS DISTINCT FROM @nodes::text);
                """,
                cancellationToken, ("id", info.ReservationId), ("pos", info.QueuePosition), ("eta", SqlTime.ToMs(info.EstimatedStartAt)), ("reason", info.Reason),
                ("likely", SqlTime.ToMs(info.LikelyStartAt)), ("nodes", info.PlannedNodes is { Count: > 0 } nodes ? string.Join(',', nodes) : null));
        }

        await session.CommitAsync(cancellationToken);
    }

    public async Task<bool> EditActiveAsync(ReservationEdit edit, CancellationToken cancellationToken)
    {
        await using var session = await database.BeginWriteAsync(cancellationToken);
        var changed = await session.ExecuteAsync(
            """
            UPDATE reservations SET expires_at = COALESCE(@expires::bigint, expires_at), extended_hours = COALESCE(@extended::double precision, extended_hours),
                extended_at = CASE WHEN @extended::double precision IS NULL THEN extended_at ELSE @at::bigint END,
                jupyter = COALESCE(@jupyter::boolean, jupyter), jupyter_url = CASE WHEN @jupyter::boolean IS NULL THEN jupyter_url ELSE @url::text END
            WHERE id = @id AND status = 'active';
            """,
            cancellationToken, ("id", edit.ReservationId), ("expires", SqlTime.ToMs(edit.ExpiresAt)), ("extended", edit.ExtendedHours),
            ("jupyter", edit.Jupyter), ("url", edit.JupyterUrl), ("at", SqlTime.ToMs(edit.At)));
        if (changed == 0)
        {
            await session.RollbackAsync(cancellationToken);
            return false;
        }

        if (edit.ClearWarnings)
        {
            await session.ExecuteAsync("DELETE FROM reservation_warnings WHERE reservation_id = @id;", cancellationToken, ("id", edit.ReservationId));
        }

        foreach (var github in edit.AddUsers ?? [])
        {
            await session.ExecuteAsync(Dialect.InsertIgnoringDuplicate("reservation_users (reservation_id, github_user, added_at) VALUES (@id, @gh, @at)"),
                cancellationToken, ("id", edit.ReservationId), ("gh", github), ("at", SqlTime.ToMs(edit.At)));
        }

        await session.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<bool> RecordWarningsAsync(string reservationId, IReadOnlyList<int> thresholds, int deliver, string message, DateTimeOffset at, JobRequest followUp, CancellationToken cancellationToken)
    {
        await using var session = await database.BeginWriteAsync(cancellationToken);
        foreach (var minutes in thresholds)
        {
            var inserted = await session.ExecuteAsync(
                Dialect.InsertIgnoringDuplicate("reservation_warnings (reservation_id, minutes_before, at, message) VALUES (@id, @m, @at, @message::text)"),
                cancellationToken, ("id", reservationId), ("m", minutes), ("at", SqlTime.ToMs(at)), ("message", minutes == deliver ? message : null));
            if (inserted == 0)
            {
                await session.RollbackAsync(cancellationToken);
                return false;
            }
        }

        await JobQueue.EnqueueAsync(session, followUp, cancellationToken);
        await session.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<bool> AddNoteAsync(string reservationId, ReservationStatus whileIn, string note, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var session = await database.BeginWriteAsync(cancellationToken);
        // Locking the row keeps the status from changing between the check and the insert (SQLite's single writer does the same).
        var added = await session.ExecuteAsync(
            $"""
            INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason)
            SELECT id, @at, status, status, @reason FROM reservations WHERE id = @id AND status = @status{Dialect.ForUpdate};
            """,
            cancellationToken, ("id", reservationId), ("at", SqlTime.ToMs(at)), ("status", whileIn.ToWire()), ("reason", note));
        await session.CommitAsync(cancellationToken);
        return added == 1;
    }

    public async Task MarkWarningDeliveredAsync(string reservationId, int minutesBefore, DateTimeOffset at, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("UPDATE reservation_warnings SET delivered_at = @at WHERE reservation_id = @id AND minutes_before = @m;",
            cancellationToken, ("id", reservationId), ("m", minutesBefore), ("at", SqlTime.ToMs(at)));

    private static Task AddHistoryAsync(SqlSession session, string id, DateTimeOffset at, ReservationStatus? from, ReservationStatus to, string reason, CancellationToken cancellationToken) =>
        session.ExecuteAsync("INSERT INTO reservation_history (reservation_id, at, from_status, to_status, reason) VALUES (@id, @at, @from::text, @to, @reason);",
            cancellationToken, ("id", id), ("at", SqlTime.ToMs(at)), ("from", from?.ToWire()), ("to", to.ToWire()), ("reason", reason));
}

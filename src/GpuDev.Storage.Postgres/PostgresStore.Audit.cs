using GpuDev.Core.Audit;
using GpuDev.Core.Storage;
using Npgsql;

namespace GpuDev.Storage.Postgres;

/// <summary>The audit trail (table <c>audit_log</c>) and the aggregates behind the metrics, with the SQLite store's
/// semantics. Prefix filters compare under the "C" collation (byte order), as SQLite's binary collation does, so that a
/// prefix is a key range on <c>ix_audit_target</c> whatever the database's default collation.</summary>
public sealed partial class PostgresStore : IAuditLog, IReservationStatistics
{
    public async Task RecordAsync(AuditEntry entry, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null,
            """
            INSERT INTO audit_log (at, actor, action, target, outcome, detail, remote_address)
            VALUES (@at, @actor, @action, @target::text, @outcome, @detail::text, @remote::text);
            """,
            cancellationToken, ("at", ToMs(entry.At)), ("actor", entry.Actor), ("action", entry.Action), ("target", entry.Target),
            ("outcome", entry.Outcome), ("detail", entry.Detail), ("remote", entry.RemoteAddress));
    }

    public async Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        if (HasNul(query.Actor) || HasNul(query.Target) || HasNul(query.Action))
        {
            return []; // text cannot hold NUL, so nothing stored matches (SQLite answers the same)
        }

        var where = new List<string>();
        var parameters = new List<(string, object?)>();
        if (query.Actor is not null)
        {
            where.Add("actor = @actor");
            parameters.Add(("actor", query.Actor));
        }

        if (query.Target is not null)
        {
            where.Add($"target IS NOT NULL AND {PrefixCondition("target", "target", query.Target, parameters)}");
        }

        if (query.Action is not null)
        {
            where.Add("starts_with(action, @action::text)");
            parameters.Add(("action", query.Action));
        }

        if (query.Since is { } since)
        {
            where.Add("at >= @since");
            parameters.Add(("since", ToMs(since)));
        }

        parameters.Add(("limit", Math.Max(0, query.Limit)));
        var sql = $"""
            SELECT id, at, actor, action, target, outcome, detail, remote_address FROM audit_log
            {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")}
            ORDER BY at DESC, id DESC LIMIT @limit;
            """;
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, sql, [.. parameters]);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<AuditEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            entries.Add(new AuditEntry(FromMs(reader.GetInt64(1)), reader.GetString(2), reader.GetString(3), NullableString(reader, 4),
                reader.GetInt32(5), NullableString(reader, 6), NullableString(reader, 7)) { Id = reader.GetInt64(0) });
        }

        return entries;
    }

    public async Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ExecuteAsync(connection, null, "DELETE FROM audit_log WHERE at < @cutoff;", cancellationToken, ("cutoff", ToMs(cutoff)));
    }

    public async Task<IReadOnlyList<ReservationCount>> CountReservationsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT status, gpu_type, COUNT(*) FROM reservations GROUP BY status, gpu_type ORDER BY status COLLATE \"C\", gpu_type COLLATE \"C\";");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var counts = new List<ReservationCount>();
        while (await reader.ReadAsync(cancellationToken))
        {
            counts.Add(new ReservationCount(reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        }

        return counts;
    }

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}

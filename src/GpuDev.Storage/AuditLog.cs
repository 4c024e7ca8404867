using GpuDev.Core.Audit;

namespace GpuDev.Storage;

/// <summary>The audit trail (table <c>audit_log</c>, <see cref="IAuditLog"/>). Prefix filters compare in byte order on
/// both databases, so a target prefix is a key range on <c>ix_audit_target</c>.</summary>
public sealed class AuditLog(SqlDatabase database) : IAuditLog
{
    public async Task RecordAsync(AuditEntry entry, CancellationToken cancellationToken) =>
        await database.ExecuteAsync(
            """
            INSERT INTO audit_log (at, actor, action, target, outcome, detail, remote_address)
            VALUES (@at, @actor, @action, @target::text, @outcome, @detail::text, @remote::text);
            """,
            cancellationToken, ("at", SqlTime.ToMs(entry.At)), ("actor", entry.Actor), ("action", entry.Action), ("target", entry.Target),
            ("outcome", entry.Outcome), ("detail", entry.Detail), ("remote", entry.RemoteAddress));

    public async Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        var dialect = database.Dialect;
        if (!dialect.CanStore(query.Actor) || !dialect.CanStore(query.Target) || !dialect.CanStore(query.Action))
        {
            return []; // nothing stored holds what the database cannot store
        }

        var where = new List<string>();
        var parameters = new List<(string Name, object? Value)>();
        if (query.Actor is not null)
        {
            where.Add("actor = @actor");
            parameters.Add(("actor", query.Actor));
        }

        if (query.Target is not null)
        {
            where.Add($"target IS NOT NULL AND {dialect.StartsWith("target", "target", query.Target, parameters)}");
        }

        if (query.Action is not null)
        {
            where.Add(dialect.StartsWith("action", "action", query.Action, parameters));
        }

        if (query.Since is { } since)
        {
            where.Add("at >= @since");
            parameters.Add(("since", SqlTime.ToMs(since)));
        }

        parameters.Add(("limit", Math.Max(0, query.Limit)));
        var sql = $"""
            SELECT id, at, actor, action, target, outcome, detail, remote_address FROM audit_log
            {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")}
            ORDER BY at DESC, id DESC LIMIT @limit;
            """;
        return await database.QueryAsync(sql,
            r => new AuditEntry(r.GetTime(1), r.GetString(2), r.GetString(3), r.GetStringOrNull(4), r.GetInt32(5), r.GetStringOrNull(6), r.GetStringOrNull(7)) { Id = r.GetInt64(0) },
            cancellationToken, [.. parameters]);
    }

    public Task<int> PurgeAsync(DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        database.ExecuteAsync("DELETE FROM audit_log WHERE at < @cutoff;", cancellationToken, ("cutoff", SqlTime.ToMs(cutoff)));
}

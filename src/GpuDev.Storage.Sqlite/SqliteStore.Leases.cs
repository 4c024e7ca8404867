using GpuDev.Core.Jobs;

namespace GpuDev.Storage.Sqlite;

/// <summary>Worker leases: one upsert that only takes a free, expired or own lease.</summary>
public sealed partial class SqliteStore : IWorkerLeases
{
    public async Task<bool> TryAcquireAsync(string name, string owner, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        await using var connection = await OpenAsync(cancellationToken);
        return await ExecuteAsync(connection, null,
            """
            INSERT INTO worker_leases (name, owner, expires_at) VALUES ($name, $owner, $until)
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
            WHERE worker_leases.owner = excluded.owner OR worker_leases.expires_at <= $now;
            """,
            cancellationToken, ("$name", name), ("$owner", owner), ("$until", ToMs(now + ttl)), ("$now", ToMs(now))) == 1;
    }

    public async Task ReleaseAsync(string name, string owner, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "DELETE FROM worker_leases WHERE name = $name AND owner = $owner;", cancellationToken, ("$name", name), ("$owner", owner));
    }

    public async Task<WorkerLease?> GetLeaseAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT name, owner, expires_at FROM worker_leases WHERE name = $name;", ("$name", name));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new WorkerLease(reader.GetString(0), reader.GetString(1), FromMs(reader.GetInt64(2))) : null;
    }
}

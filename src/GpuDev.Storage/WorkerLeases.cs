using GpuDev.Core.Jobs;

namespace GpuDev.Storage;

/// <summary>Worker leases (<see cref="IWorkerLeases"/>): one atomic upsert that only takes a free, expired or own lease
/// (a concurrent taker waits for the row lock and re-checks the condition). Expiry is judged by the caller's clock, as
/// for job leases, so replicas need clocks in step to well under the lease time (NTP).</summary>
public sealed class WorkerLeases(SqlDatabase database, TimeProvider timeProvider) : IWorkerLeases
{
    public async Task<bool> TryAcquireAsync(string name, string owner, TimeSpan ttl, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        return await database.ExecuteAsync(
            """
            INSERT INTO worker_leases (name, owner, expires_at) VALUES (@name, @owner, @until)
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
            WHERE worker_leases.owner = excluded.owner OR worker_leases.expires_at <= @now;
            """,
            cancellationToken, ("name", name), ("owner", owner), ("until", SqlTime.ToMs(now + ttl)), ("now", SqlTime.ToMs(now))) == 1;
    }

    public async Task ReleaseAsync(string name, string owner, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM worker_leases WHERE name = @name AND owner = @owner;", cancellationToken, ("name", name), ("owner", owner));

    public Task<WorkerLease?> GetLeaseAsync(string name, CancellationToken cancellationToken) =>
        database.FirstOrDefaultAsync("SELECT name, owner, expires_at FROM worker_leases WHERE name = @name;",
            r => new WorkerLease(r.GetString(0), r.GetString(1), r.GetTime(2)), cancellationToken, ("name", name));
}

using System.Data.Common;
using GpuDev.Core.Jobs;

namespace GpuDev.Storage;

/// <summary>The durable job queue (<see cref="IJobQueue"/>). A claim is one conditional <c>UPDATE</c> that sets the
/// lease; a job whose lease has expired is claimed again.</summary>
public sealed class JobQueue(SqlDatabase database, TimeProvider timeProvider) : IJobQueue
{
    private const string Columns = "id, kind, reservation_id, attempts, run_after, created_at, last_error, lease_owner, lease_until";

    public async Task EnqueueAsync(JobRequest job, CancellationToken cancellationToken)
    {
        await using var session = await database.OpenAsync(cancellationToken);
        await EnqueueAsync(session, job, cancellationToken);
    }

    /// <summary>Adds <paramref name="job"/> in the session's transaction (with the state change it follows).</summary>
    internal static Task<int> EnqueueAsync(SqlSession session, JobRequest job, CancellationToken cancellationToken) =>
        session.ExecuteAsync("INSERT INTO jobs (kind, reservation_id, run_after, created_at) VALUES (@kind, @id, @after, @after);",
            cancellationToken, ("kind", job.Kind.ToString()), ("id", job.ReservationId), ("after", SqlTime.ToMs(job.RunAfter)));

    public Task<Job?> ClaimAsync(string owner, TimeSpan lease, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        // SKIP LOCKED (where writers run concurrently): claimers each take a different due job instead of queueing on one row.
        return database.FirstOrDefaultAsync(
            $"""
            UPDATE jobs SET lease_owner = @owner, lease_until = @until, attempts = attempts + 1
            WHERE id = (SELECT id FROM jobs WHERE run_after <= @now AND (lease_until IS NULL OR lease_until <= @now)
                        ORDER BY run_after, id LIMIT 1{database.Dialect.SkipLocked})
            RETURNING {Columns};
            """,
            Read, cancellationToken, ("owner", owner), ("until", SqlTime.ToMs(now + lease)), ("now", SqlTime.ToMs(now)));
    }

    public async Task CompleteAsync(long jobId, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM jobs WHERE id = @id;", cancellationToken, ("id", jobId));

    public async Task RetryAsync(long jobId, DateTimeOffset runAfter, string? error, CancellationToken cancellationToken) =>
        await database.ExecuteAsync(
            "UPDATE jobs SET lease_owner = NULL, lease_until = NULL, run_after = @after, last_error = @error::text, attempts = attempts - CASE WHEN @error::text IS NULL THEN 1 ELSE 0 END WHERE id = @id;",
            cancellationToken, ("id", jobId), ("after", SqlTime.ToMs(runAfter)), ("error", error));

    public async Task<IReadOnlyList<Job>> ListAsync(CancellationToken cancellationToken) =>
        await database.QueryAsync($"SELECT {Columns} FROM jobs ORDER BY id;", Read, cancellationToken);

    private static Job Read(DbDataReader reader) => new(
        reader.GetInt64(0), Enum.Parse<JobKind>(reader.GetString(1)), reader.GetString(2), reader.GetInt32(3),
        reader.GetTime(4), reader.GetTime(5), reader.GetStringOrNull(6))
    {
        LeaseOwner = reader.GetStringOrNull(7),
        LeaseUntil = reader.GetTimeOrNull(8),
    };
}

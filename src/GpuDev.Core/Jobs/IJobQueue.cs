namespace GpuDev.Core.Jobs;

/// <summary>The durable queue. Lives in the same database as the reservations, so a state change and the job
/// that follows it commit together.</summary>
public interface IJobQueue
{
    Task EnqueueAsync(JobRequest job, CancellationToken cancellationToken);

    /// <summary>Claims one due job (run-after passed, no live lease) for <paramref name="owner"/> until now + lease.
    /// Jobs whose lease expired (their worker died) are claimable again.</summary>
    Task<Job?> ClaimAsync(string owner, TimeSpan lease, CancellationToken cancellationToken);

    /// <summary>Removes a finished job.</summary>
    Task CompleteAsync(long jobId, CancellationToken cancellationToken);

    /// <summary>Releases the lease and makes the job due again at <paramref name="runAfter"/>.</summary>
    Task RetryAsync(long jobId, DateTimeOffset runAfter, string? error, CancellationToken cancellationToken);

    /// <summary>Jobs not yet completed (for tests and operations).</summary>
    Task<IReadOnlyList<Job>> ListAsync(CancellationToken cancellationToken);
}

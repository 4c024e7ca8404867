using System.Diagnostics;
using GpuDev.Core.Jobs;
using GpuDev.Server.Health;
using GpuDev.Server.Hosting;
using GpuDev.Server.Observability;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Processing;

/// <summary>Claims due jobs with a lease and runs them one at a time. A job whose worker died is claimed
/// again when its lease runs out; every handler is safe to repeat.</summary>
internal sealed partial class JobWorker(
    IJobQueue queue,
    ScheduleHandler schedule,
    ProvisionHandler provision,
    TeardownHandler teardown,
    WarnHandler warn,
    TimeProvider timeProvider,
    JobSignal signal,
    IOptions<ServerOptions> options,
    WorkerHeartbeats heartbeats,
    ServerMetrics metrics,
    ILogger<JobWorker> logger) : BackgroundService
{
    private readonly string _owner = LeaseOwners.ForThisProcess();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            heartbeats.Beat(WorkerHeartbeats.Job);
            var worked = false;
            try
            {
                worked = await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogLoopFailed(logger, e);
            }

            if (worked)
            {
                continue;
            }

            try
            {
                await signal.Signal.WaitAsync(options.Value.PollInterval, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Claims and runs one job; false when none was due.</summary>
    public async Task<bool> RunOnceAsync(CancellationToken cancellationToken)
    {
        var job = await queue.ClaimAsync(_owner, options.Value.JobLease, cancellationToken);
        if (job is null)
        {
            return false;
        }

        var started = Stopwatch.GetTimestamp();
        var kind = job.Kind.ToString().ToLowerInvariant();
        try
        {
            var outcome = job.Kind switch
            {
                JobKind.Schedule => await schedule.HandleAsync(job, cancellationToken),
                JobKind.Provision => await provision.HandleAsync(job, cancellationToken),
                JobKind.Teardown => await teardown.HandleAsync(job, cancellationToken),
                JobKind.Warn => await warn.HandleAsync(job, cancellationToken),
                _ => JobOutcome.Done,
            };
            metrics.JobRan(kind, outcome.RetryAfter is null ? "done" : "retry", Stopwatch.GetElapsedTime(started));
            if (outcome.RetryAfter is { } delay)
            {
                await queue.RetryAsync(job.Id, timeProvider.GetUtcNow() + delay, outcome.Error, CancellationToken.None);
            }
            else
            {
                await queue.CompleteAsync(job.Id, CancellationToken.None);
            }
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.JobRan(kind, "error", Stopwatch.GetElapsedTime(started));
            LogJobFailed(logger, job.Kind, job.ReservationId, job.Attempts, e);
            await queue.RetryAsync(job.Id, timeProvider.GetUtcNow() + Backoff(job.Attempts), e.Message, CancellationToken.None);
        }

        return true;
    }

    internal static TimeSpan Backoff(int attempts) => TimeSpan.FromSeconds(Math.Min(60, Math.Pow(2, Math.Max(0, attempts - 1))));

    [LoggerMessage(EventId = 1400, Level = LogLevel.Error, Message = "{Kind} job for {ReservationId} failed on attempt {Attempts}; it will be retried")]
    private static partial void LogJobFailed(ILogger logger, JobKind kind, string reservationId, int attempts, Exception exception);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Error, Message = "Job loop failed")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);
}

/// <summary>What a handler wants done with its job: finished, or run again after a delay.</summary>
internal sealed record JobOutcome(TimeSpan? RetryAfter, string? Error = null)
{
    public static JobOutcome Done { get; } = new((TimeSpan?)null);

    public static JobOutcome Retry(TimeSpan after, string? error = null) => new(after, error);
}

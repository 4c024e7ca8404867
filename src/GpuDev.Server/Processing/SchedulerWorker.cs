using GpuDev.Server.Health;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Processing;

/// <summary>Runs a <see cref="SchedulingPass"/> on the replica that holds the scheduler lease: when signalled (GPUs freed,
/// an end time moved) and every poll interval, so queued requests start as soon as GPUs free up. A new request does not
/// wait for it: its first job (<see cref="ScheduleHandler"/>) runs a pass on whichever replica claims it.</summary>
internal sealed partial class SchedulerWorker(
    SchedulingPass pass,
    TimeProvider timeProvider,
    SchedulerSignal signal,
    WorkerLeaseKeeper leases,
    IOptions<ServerOptions> options,
    WorkerHeartbeats heartbeats,
    ILogger<SchedulerWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            heartbeats.Beat(WorkerHeartbeats.Scheduler);
            try
            {
                if (await leases.HoldsAsync(WorkerLeaseKeeper.Scheduler, stoppingToken))
                {
                    await pass.RunAsync(stoppingToken);
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogPassFailed(logger, e);
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

    [LoggerMessage(EventId = 1302, Level = LogLevel.Error, Message = "Scheduling pass failed")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}

using GpuDev.Core.Compute;
using GpuDev.Core.Jobs;
using GpuDev.Core.Storage;

namespace GpuDev.Server.Processing;

/// <summary>Finalizes an ended reservation: removes everything the provider made, then frees its GPUs.
/// GPUs are freed only after the environment is gone, so no GPU is ever used by two reservations.</summary>
internal sealed partial class TeardownHandler(IComputeProvider provider, IReservationStore store, SchedulerSignal scheduler, ILogger<TeardownHandler> logger)
{
    public async Task<JobOutcome> HandleAsync(Job job, CancellationToken cancellationToken)
    {
        // Not cut short by shutdown: a half-removed environment is worse than a slightly later stop.
        await provider.RemoveEnvironmentAsync(job.ReservationId, CancellationToken.None);
        await store.ReleaseAllocationsAsync(job.ReservationId, CancellationToken.None);
        LogTornDown(logger, job.ReservationId);
        scheduler.Signal.Notify();
        return JobOutcome.Done;
    }

    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "Reservation {ReservationId} torn down; its GPUs are free")]
    private static partial void LogTornDown(ILogger logger, string reservationId);
}

using GpuDev.Core.Compute;
using GpuDev.Core.Disks;
using GpuDev.Core.Jobs;
using GpuDev.Core.Storage;
using GpuDev.Server.Observability;

namespace GpuDev.Server.Processing;

/// <summary>Finalizes an ended reservation: removes everything the provider made, then frees its GPUs.
/// GPUs are freed only after the environment is gone, so no GPU is ever used by two reservations.</summary>
internal sealed partial class TeardownHandler(
    IComputeProvider provider,
    IReservationStore store,
    IDiskStore disks,
    IDiskProvider diskProvider,
    Microsoft.Extensions.Options.IOptions<Disks.DiskOptions> diskOptions,
    SchedulerSignal scheduler,
    ServerMetrics metrics,
    ILogger<TeardownHandler> logger)
{
    public async Task<JobOutcome> HandleAsync(Job job, CancellationToken cancellationToken)
    {
        // Not cut short by shutdown: a half-removed environment is worse than a slightly later stop.
        var diskId = (await store.GetReservationAsync(job.ReservationId, CancellationToken.None))?.DiskId;
        if (diskId is not null)
        {
            // Expiry warnings are about this reservation: they must not stay on the disk for the next one. Best effort:
            // after a crash in the middle of a removal the environment's user may already be gone, and teardown must go on.
            try
            {
                await provider.ClearWarningsAsync(job.ReservationId, CancellationToken.None);
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or EnvironmentUnavailableException)
            {
                metrics.ProviderError(provider.Name, "clear_warnings");
                LogWarningsNotCleared(logger, job.ReservationId, e.Message);
            }
        }

        try
        {
            await provider.RemoveEnvironmentAsync(job.ReservationId, CancellationToken.None);
        }
        catch (Exception)
        {
            metrics.ProviderError(provider.Name, "remove_environment");
            throw;
        }
        Faults.Steps.Reached(Faults.CrashSteps.TeardownAfterRemove);

        if (diskId is not null)
        {
            await BackUpDiskAsync(diskId, job.ReservationId);
        }

        await store.ReleaseAllocationsAsync(job.ReservationId, CancellationToken.None);
        Faults.Steps.Reached(Faults.CrashSteps.TeardownAfterRelease);
        LogTornDown(logger, job.ReservationId);
        scheduler.Signal.Notify();
        return JobOutcome.Done;
    }

    /// <summary>Snapshots the disk the ended reservation held, then makes it available again. Repeatable: the
    /// snapshot id is the reservation's, and the disk stays backing-up (never available) until the copy is complete.</summary>
    private async Task BackUpDiskAsync(string diskId, string reservationId)
    {
        if (!await disks.BeginBackupAsync(diskId, reservationId, CancellationToken.None))
        {
            return;
        }

        var snapshot = await diskProvider.SnapshotAsync(diskId, reservationId, reservationId, CancellationToken.None);
        var size = await diskProvider.UsageAsync(diskId, CancellationToken.None);
        Faults.Steps.Reached(Faults.CrashSteps.SnapshotBeforeRecord);

        // Retention before release: the disk is available only once its snapshot list is final.
        var older = (await disks.ListSnapshotsAsync(diskId, CancellationToken.None)).Where(s => s.Id != snapshot.Id);
        foreach (var old in older.Skip(Math.Max(0, diskOptions.Value.KeepSnapshots - 1)))
        {
            await diskProvider.DeleteSnapshotAsync(diskId, old.Id, CancellationToken.None);
            await disks.DeleteSnapshotRecordAsync(old.Id, CancellationToken.None);
        }

        await disks.CompleteBackupAsync(diskId, snapshot, size, CancellationToken.None);
        Faults.Steps.Reached(Faults.CrashSteps.AfterSnapshot);
        LogBackedUp(logger, diskId, reservationId, snapshot.SizeBytes);
    }

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "Could not clear the expiry warnings of {ReservationId} before teardown: {Message}")]
    private static partial void LogWarningsNotCleared(ILogger logger, string reservationId, string message);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Disk {DiskId} backed up after reservation {ReservationId} ({Bytes} bytes)")]
    private static partial void LogBackedUp(ILogger logger, string diskId, string reservationId, long bytes);

    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "Reservation {ReservationId} torn down; its GPUs are free")]
    private static partial void LogTornDown(ILogger logger, string reservationId);
}

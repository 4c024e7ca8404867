using GpuDev.Core.Compute;
using GpuDev.Core.Disks;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Server.Processing;

namespace GpuDev.Server.Hosting;

/// <summary>Runs before the API serves requests: migrates the store, records the fleet, and reconciles the
/// provider with the store after a restart (environments of ended or unknown reservations are removed; live
/// ones are kept). It blocks start-up on purpose: serving requests before the schema exists is worse.</summary>
internal sealed partial class StartupService(
    IReservationStore store,
    IJobQueue queue,
    IComputeProvider provider,
    IDiskStore disks,
    IDiskProvider diskProvider,
    TimeProvider timeProvider,
    ILogger<StartupService> logger) : IHostedService
{
    /// <summary>A restore older than this is taken as cut short even when its owner cannot be checked (another host).</summary>
    internal static readonly TimeSpan RestoreCutShortAfter = TimeSpan.FromHours(1);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        var nodes = await provider.DiscoverNodesAsync(cancellationToken);
        await store.SyncNodesAsync(nodes, cancellationToken);
        foreach (var node in nodes)
        {
            LogNode(logger, node.Name, node.GpuCount, node.GpuType, node.Simulated ? " (simulated)" : "");
        }

        var jobs = await queue.ListAsync(cancellationToken);
        foreach (var job in jobs.Where(j => j.LeaseOwner is { } owner && LeaseOwners.IsDeadOnThisHost(owner)))
        {
            LogLeaseReleased(logger, job.Kind, job.ReservationId, job.LeaseOwner!);
            await queue.RetryAsync(job.Id, timeProvider.GetUtcNow(), $"released: worker {job.LeaseOwner} is gone", cancellationToken);
        }

        // A restore cut short by a crash: the provider rolled its files back or forward when it started; the disk is usable
        // again. A restore another replica is doing now (its process is alive, or on another host and younger than
        // RestoreCutShortAfter) is left alone.
        foreach (var restore in await disks.ListRestoresAsync(cancellationToken))
        {
            if (restore.Owner is not null && !LeaseOwners.IsDeadOnThisHost(restore.Owner)
                && restore.StartedAt is { } started && timeProvider.GetUtcNow() - started < RestoreCutShortAfter)
            {
                LogRestoreUnderWay(logger, restore.DiskId, restore.Owner);
                continue;
            }

            await disks.EndRestoreAsync(restore.DiskId, await diskProvider.UsageAsync(restore.DiskId, cancellationToken), cancellationToken);
        }

        var pendingTeardowns = jobs.Where(j => j.Kind == JobKind.Teardown).Select(j => j.ReservationId).ToHashSet();
        foreach (var id in await provider.ListEnvironmentsAsync(cancellationToken))
        {
            var reservation = await store.GetReservationAsync(id, cancellationToken);
            if ((reservation is null || reservation.Status.IsTerminal()) && !pendingTeardowns.Contains(id))
            {
                LogOrphan(logger, id, reservation?.Status.ToWire() ?? "unknown");
                await provider.RemoveEnvironmentAsync(id, cancellationToken);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Disk {DiskId}: a restore by {Owner} is under way; left to it")]
    private static partial void LogRestoreUnderWay(ILogger logger, string diskId, string owner);

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Node {Node}: {GpuCount} x {GpuType}{Simulated}")]
    private static partial void LogNode(ILogger logger, string node, int gpuCount, string gpuType, string simulated);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Released the lease of the {Kind} job for {ReservationId}: its worker {Owner} is gone")]
    private static partial void LogLeaseReleased(ILogger logger, JobKind kind, string reservationId, string owner);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Removing the environment of reservation {ReservationId} ({Status}) left from before the restart")]
    private static partial void LogOrphan(ILogger logger, string reservationId, string status);
}

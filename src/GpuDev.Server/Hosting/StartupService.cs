using GpuDev.Core.Compute;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;

namespace GpuDev.Server.Hosting;

/// <summary>Runs before the API serves requests: migrates the store, records the fleet, and reconciles the
/// provider with the store after a restart (environments of ended or unknown reservations are removed; live
/// ones are kept). It blocks start-up on purpose: serving requests before the schema exists is worse.</summary>
internal sealed partial class StartupService(
    IReservationStore store,
    IJobQueue queue,
    IComputeProvider provider,
    ILogger<StartupService> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.InitializeAsync(cancellationToken);
        var nodes = await provider.DiscoverNodesAsync(cancellationToken);
        await store.SyncNodesAsync(nodes, cancellationToken);
        foreach (var node in nodes)
        {
            LogNode(logger, node.Name, node.GpuCount, node.GpuType, node.Simulated ? " (simulated)" : "");
        }

        var pendingTeardowns = (await queue.ListAsync(cancellationToken)).Where(j => j.Kind == JobKind.Teardown).Select(j => j.ReservationId).ToHashSet();
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

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "Node {Node}: {GpuCount} x {GpuType}{Simulated}")]
    private static partial void LogNode(ILogger logger, string node, int gpuCount, string gpuType, string simulated);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "Removing the environment of reservation {ReservationId} ({Status}) left from before the restart")]
    private static partial void LogOrphan(ILogger logger, string reservationId, string status);
}

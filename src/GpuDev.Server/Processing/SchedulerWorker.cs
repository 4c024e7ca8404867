using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Processing;

/// <summary>Places waiting requests on free GPUs, oldest first. A placement, the GPUs it takes and the
/// provisioning job commit in one transaction that moves the reservation to preparing.</summary>
internal sealed partial class SchedulerWorker(
    IReservationStore store,
    TimeProvider timeProvider,
    SchedulerSignal signal,
    JobSignal jobs,
    IOptions<ServerOptions> options,
    ILogger<SchedulerWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
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

    /// <summary>One scheduling pass over every pending and queued request.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var waiting = await store.ListReservationsAsync(new ReservationQuery(Statuses: [ReservationStatus.Pending, ReservationStatus.Queued]), cancellationToken);
        if (waiting.Count == 0)
        {
            return;
        }

        var nodes = await store.GetNodesAsync(cancellationToken);
        var allocations = (await store.GetAllocationsAsync(cancellationToken)).ToList();
        var waitInfo = new List<WaitInfo>();
        foreach (var reservation in waiting)
        {
            var now = timeProvider.GetUtcNow();
            var placement = PlacementPlanner.TryPlace(reservation.GpuType, reservation.GpuCount, reservation.NodeCount, nodes, allocations);
            if (placement is not null)
            {
                var placed = await TryAllocateAsync(reservation, placement, now, cancellationToken);
                if (placed)
                {
                    allocations.AddRange(placement.SelectMany(p => p.GpuIndices.Select(i => new GpuAllocation(p.Node, i, reservation.Id))));
                    continue;
                }
            }

            var reason = WaitReason(reservation, nodes, allocations);
            if (reservation.Status == ReservationStatus.Pending)
            {
                await store.TransitionAsync(new ReservationTransition(reservation.Id, ReservationStatus.Pending, ReservationStatus.Queued, reason, now), cancellationToken);
            }

            waitInfo.Add(new WaitInfo(reservation.Id, waitInfo.Count + 1, null, reason));
        }

        await store.UpdateWaitInfoAsync(waitInfo, cancellationToken);
    }

    private async Task<bool> TryAllocateAsync(Reservation reservation, IReadOnlyList<NodeAllocation> placement, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var where = string.Join("; ", placement.Select(p => p.GpuIndices.Count == 0 ? p.Node : $"{p.Node} GPUs {string.Join(',', p.GpuIndices)}"));
        var transition = new ReservationTransition(reservation.Id, reservation.Status, ReservationStatus.Preparing, $"placed on {where}", now)
        {
            Allocate = placement,
            FollowUp = new JobRequest(JobKind.Provision, reservation.Id, now),
        };
        try
        {
            if (!await store.TransitionAsync(transition, cancellationToken))
            {
                return false;
            }
        }
        catch (AllocationConflictException e)
        {
            LogConflict(logger, reservation.Id, e.Message);
            return false;
        }

        LogPlaced(logger, reservation.Id, where);
        jobs.Signal.Notify();
        return true;
    }

    private static string WaitReason(Reservation reservation, IReadOnlyList<Core.Compute.ComputeNode> nodes, IReadOnlyCollection<GpuAllocation> allocations)
    {
        var (free, node) = PlacementPlanner.LargestFreeBlock(reservation.GpuType, nodes, allocations);
        return node is null
            ? $"no {reservation.GpuType} node is online"
            : $"no node has {reservation.GpuCount} free {reservation.GpuType}; largest free block is {free} on {node}";
    }

    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Reservation {ReservationId} placed on {Placement}")]
    private static partial void LogPlaced(ILogger logger, string reservationId, string placement);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Reservation {ReservationId} lost a race for its GPUs: {Detail}")]
    private static partial void LogConflict(ILogger logger, string reservationId, string detail);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Error, Message = "Scheduling pass failed")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}

using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;
using GpuDev.Server.Audit;
using GpuDev.Server.Health;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Processing;

/// <summary>Places waiting requests on free GPUs, oldest first. A placement, the GPUs it takes and the
/// provisioning job commit in one transaction that moves the reservation to preparing.</summary>
internal sealed partial class SchedulerWorker(
    IReservationStore store,
    FleetView fleetView,
    TimeProvider timeProvider,
    SchedulerSignal signal,
    JobSignal jobs,
    Faults.CrashPoints crash,
    WorkerLeaseKeeper leases,
    IOptions<ServerOptions> options,
    WorkerHeartbeats heartbeats,
    AuditTrail audit,
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
                    await RunOnceAsync(stoppingToken);
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

    /// <summary>One scheduling pass: plan every pending and queued request, start what fits now, and record
    /// position, ETA and reason for the rest.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var fleet = await fleetView.LoadAsync(cancellationToken);
        if (fleet.Waiting.Count == 0)
        {
            return;
        }

        var queue = fleet.Waiting.Select(r => new PlanRequest(r.Id, r.GpuType, r.GpuCount, r.NodeCount, TimeSpan.FromHours(r.Hours), r.Options.NodeLabels)).ToList();
        var plan = BackfillPlanner.Plan(fleet.Now, fleet.Nodes, fleet.Allocations, fleet.EndsAt, queue);
        var byId = fleet.Waiting.ToDictionary(r => r.Id);
        foreach (var start in plan.Starts)
        {
            await TryAllocateAsync(byId[start.ReservationId], start.Placement, fleet.Now, cancellationToken);
        }

        // Wait info first, so a request is never seen queued without its position, ETA and reason.
        await store.UpdateWaitInfoAsync([.. plan.Waits.Select(w => new WaitInfo(w.ReservationId, w.Position, w.EstimatedStartAt, w.Reason))], cancellationToken);
        foreach (var wait in plan.Waits.Where(w => byId[w.ReservationId].Status == ReservationStatus.Pending))
        {
            var queued = new ReservationTransition(wait.ReservationId, ReservationStatus.Pending, ReservationStatus.Queued, wait.Reason, fleet.Now);
            if (await store.TransitionAsync(queued, cancellationToken))
            {
                await audit.TransitionedAsync(AuditTrail.Scheduler, queued);
            }
        }
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

        crash.Reach(Faults.CrashSteps.AfterAllocate);
        await audit.TransitionedAsync(AuditTrail.Scheduler, transition);
        LogPlaced(logger, reservation.Id, where);
        jobs.Signal.Notify();
        return true;
    }

    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Reservation {ReservationId} placed on {Placement}")]
    private static partial void LogPlaced(ILogger logger, string reservationId, string placement);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Reservation {ReservationId} lost a race for its GPUs: {Detail}")]
    private static partial void LogConflict(ILogger logger, string reservationId, string detail);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Error, Message = "Scheduling pass failed")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}

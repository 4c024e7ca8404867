using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;
using GpuDev.Server.Audit;

namespace GpuDev.Server.Processing;

/// <summary>Places waiting requests on free GPUs, oldest first. A placement, the GPUs it takes and the provisioning job
/// commit in one transaction that moves the reservation to preparing. Passes on one replica run one at a time; passes
/// on two replicas at once are safe (a transition applies only from the status it read, a GPU takes one allocation) —
/// the loser of a race finds the request already placed.</summary>
internal sealed partial class SchedulingPass(
    IReservationStore store,
    FleetView fleetView,
    JobSignal jobs,
    AuditTrail audit,
    ScaleUpDemand scaleUp,
    ILogger<SchedulingPass> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>One scheduling pass: plan every pending and queued request, start what fits now, and record
    /// position, ETA and reason for the rest.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await RunLockedAsync(cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task RunLockedAsync(CancellationToken cancellationToken)
    {
        var fleet = await fleetView.LoadAsync(cancellationToken);
        if (fleet.Waiting.Count == 0)
        {
            return;
        }

        var queue = fleet.Waiting.Select(r => new PlanRequest(r.Id, r.GpuType, r.GpuCount, r.NodeCount, TimeSpan.FromHours(r.Hours), r.Options.NodeLabels)).ToList();
        var plan = BackfillPlanner.Plan(fleet.Now, fleet.Nodes, fleet.Allocations, fleet.EndsAt, queue);
        plan = await scaleUp.ApplyAsync(fleet, plan, cancellationToken);
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

        Faults.Steps.Reached(Faults.CrashSteps.AfterAllocate);
        await audit.TransitionedAsync(AuditTrail.Scheduler, transition);
        LogPlaced(logger, reservation.Id, where);
        jobs.Signal.Notify();
        return true;
    }

    public void Dispose() => _gate.Dispose();

    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "Reservation {ReservationId} placed on {Placement}")]
    private static partial void LogPlaced(ILogger logger, string reservationId, string placement);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "Reservation {ReservationId} lost a race for its GPUs: {Detail}")]
    private static partial void LogConflict(ILogger logger, string reservationId, string detail);
}

using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;
using GpuDev.Server.Audit;
using GpuDev.Server.Reservations;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Processing;

/// <summary>Places waiting requests on free GPUs, oldest first (or least recent use first: <c>Quotas:FairShare</c>). A placement, the GPUs it takes and the provisioning job
/// commit in one transaction that moves the reservation to preparing. Passes on one replica run one at a time; passes
/// on two replicas at once are safe (a transition applies only from the status it read, a GPU takes one allocation) —
/// the loser of a race finds the request already placed.</summary>
internal sealed partial class SchedulingPass(
    IReservationStore store,
    FleetView fleetView,
    EndHistory endHistory,
    RecentUsage recentUsage,
    IOptions<QuotaOptions> quotas,
    JobSignal jobs,
    AuditTrail audit,
    ScaleUpDemand scaleUp,
    ILogger<SchedulingPass> logger) : IDisposable
{
    private static readonly TimeSpan s_likelyRounding = TimeSpan.FromMinutes(5);

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

        var waiting = fleet.Waiting;
        if (quotas.Value.FairShare)
        {
            // Least recent use first; OrderBy is stable, so oldest first among equals.
            var used = await recentUsage.GetAsync(cancellationToken);
            waiting = [.. waiting.OrderBy(r => used.GetValueOrDefault(r.UserId))];
        }

        var queue = fleet.Queue(waiting);
        var promised = fleet.Promised();
        var plan = BackfillPlanner.Plan(fleet.Now, fleet.Nodes, fleet.Allocations, fleet.EndsAt, queue, promised);
        plan = await scaleUp.ApplyAsync(fleet, plan, cancellationToken);
        var byId = fleet.Waiting.ToDictionary(r => r.Id);
        foreach (var start in plan.Starts)
        {
            await TryAllocateAsync(byId[start.ReservationId], start.Placement, fleet.Now, cancellationToken);
        }

        // Wait info first, so a request is never seen queued without its position, ETA and reason.
        var likely = await LikelyStartsAsync(fleet, waiting, plan, cancellationToken);
        await store.UpdateWaitInfoAsync([.. plan.Waits.Select(w => new WaitInfo(w.ReservationId, w.Position, w.EstimatedStartAt, w.Reason,
            likely.TryGetValue(w.ReservationId, out var at) ? at : null, w.Nodes))], cancellationToken);
        foreach (var wait in plan.Waits.Where(w => byId[w.ReservationId].Status == ReservationStatus.Pending))
        {
            var queued = new ReservationTransition(wait.ReservationId, ReservationStatus.Pending, ReservationStatus.Queued, wait.Reason, fleet.Now);
            if (await store.TransitionAsync(queued, cancellationToken))
            {
                await audit.TransitionedAsync(AuditTrail.Scheduler, queued);
            }
        }
    }

    /// <summary>The likely start of every waiting request (<see cref="LikelyStarts"/>), to the nearest
    /// <see cref="s_likelyRounding"/>: a prediction is no finer than that, and a value that moves every pass would rewrite
    /// the row (and void the read cache) every pass.</summary>
    private async Task<Dictionary<string, DateTimeOffset>> LikelyStartsAsync(FleetSnapshot fleet, IReadOnlyList<Reservation> ordered, Plan plan,
        CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        if (!plan.Waits.Any(w => w.EstimatedStartAt is not null))
        {
            return result;
        }

        var predictor = await endHistory.GetAsync(cancellationToken);
        var now = fleet.Now;
        var ends = EndHistory.LikelyEnds(fleet, predictor);

        var starting = plan.Starts.Select(s => s.ReservationId).ToHashSet(StringComparer.Ordinal);
        var queue = ordered.Where(r => !starting.Contains(r.Id))
            .Select(r => new PlanRequest(r.Id, r.GpuType, r.GpuCount, r.NodeCount, predictor.LikelyDuration(r.UserId, r.GpuType, r.Hours), r.Options.NodeLabels))
            .ToList();

        // The requests this pass starts hold their GPUs for their likely run time.
        var waiting = fleet.Waiting.ToDictionary(r => r.Id, StringComparer.Ordinal);
        var allocations = fleet.Allocations.ToList();
        foreach (var start in plan.Starts)
        {
            var request = waiting[start.ReservationId];
            allocations.AddRange(start.Placement.SelectMany(p => p.GpuIndices.Select(g => new GpuAllocation(p.Node, g, start.ReservationId))));
            ends[start.ReservationId] = now + predictor.LikelyDuration(request.UserId, request.GpuType, request.Hours);
        }

        var promised = plan.Waits.Where(w => w.EstimatedStartAt is not null).ToDictionary(w => w.ReservationId, w => w.EstimatedStartAt!.Value, StringComparer.Ordinal);
        foreach (var (id, at) in LikelyStarts.Plan(now, fleet.Nodes, allocations, ends, queue, plan))
        {
            var step = s_likelyRounding.Ticks;
            var rounded = new DateTimeOffset((at.UtcTicks + (step / 2)) / step * step, TimeSpan.Zero);
            // Less than a step before the guaranteed start is no news (it is often only the rounding): the same time then,
            // which clients do not show twice ("starts by 16:30 (likely ~16:30)").
            result[id] = promised[id] - rounded >= TimeSpan.FromTicks(step) ? rounded : promised[id];
        }

        return result;
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

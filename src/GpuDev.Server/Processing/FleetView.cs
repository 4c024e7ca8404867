using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;

namespace GpuDev.Server.Processing;

/// <summary>The fleet as the scheduler and <c>avail</c>/<c>status</c> see it at one instant.</summary>
internal sealed record FleetSnapshot(
    DateTimeOffset Now,
    IReadOnlyList<ComputeNode> Nodes,
    IReadOnlyList<GpuAllocation> Allocations,
    IReadOnlyDictionary<string, DateTimeOffset> EndsAt,
    IReadOnlyList<Reservation> Waiting,
    IReadOnlyList<Reservation> Running)
{
    /// <summary>The slot an earlier pass booked for each waiting request that has one: what the planner holds for it.</summary>
    public Dictionary<string, PlannedSlot> Promised() =>
        Waiting.Where(r => r.EstimatedStartAt is not null && r.PlannedNodes.Count > 0)
            .ToDictionary(r => r.Id, r => new PlannedSlot(r.EstimatedStartAt!.Value, r.PlannedNodes), StringComparer.Ordinal);

    /// <summary><paramref name="order"/> (default: the waiting requests oldest first) as the planner takes them.</summary>
    public List<PlanRequest> Queue(IEnumerable<Reservation>? order = null) =>
        [.. (order ?? Waiting).Select(r => new PlanRequest(r.Id, r.GpuType, r.GpuCount, r.NodeCount, TimeSpan.FromHours(r.Hours), r.Options.NodeLabels))];
}

/// <summary>Loads a <see cref="FleetSnapshot"/>. When GPUs free up: active reservations at their end time,
/// preparing ones a full duration from now, ended ones (teardown under way) shortly. The ETA is the end time
/// itself; the expiry grace and the teardown (seconds) come on top of it.</summary>
internal sealed class FleetView(IReservationStore store, TimeProvider timeProvider)
{
    private static readonly TimeSpan s_teardownEstimate = TimeSpan.FromSeconds(10);

    public async Task<FleetSnapshot> LoadAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var waiting = await store.ListReservationsAsync(new ReservationQuery(Statuses: [ReservationStatus.Pending, ReservationStatus.Queued]), cancellationToken);
        var nodes = await store.GetNodesAsync(cancellationToken);
        var allocations = await store.GetAllocationsAsync(cancellationToken);
        var running = await store.ListReservationsAsync(new ReservationQuery(Statuses: [ReservationStatus.Preparing, ReservationStatus.Active]), cancellationToken);
        var holders = allocations.Select(a => a.ReservationId).ToHashSet(StringComparer.Ordinal);
        var endsAt = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var reservation in running.Where(r => holders.Contains(r.Id)))
        {
            endsAt[reservation.Id] = reservation.ExpiresAt ?? now + TimeSpan.FromHours(reservation.Hours);
        }

        foreach (var id in holders.Where(h => !endsAt.ContainsKey(h)))
        {
            endsAt[id] = now + s_teardownEstimate;
        }

        return new FleetSnapshot(now, nodes, allocations, endsAt, waiting, running);
    }
}

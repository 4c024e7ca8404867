using GpuDev.Core.Compute;
using GpuDev.Core.Storage;

namespace GpuDev.Core.Scheduling;

/// <summary>The likely start of every waiting request: the same backfill plan as the guaranteed one, made on the likely
/// ends of what runs (<see cref="EndPredictor.LikelyEnd"/>) and the likely run times of what waits ahead
/// (<see cref="EndPredictor.LikelyDuration"/>) instead of the booked ones.
/// <para>Why one plan on medians rather than the median of Monte-Carlo replans: it costs one planning pass, not dozens
/// (a pass over 20,000 requests must stay under a second); it is deterministic, so the likely start does not jitter
/// from one pass to the next while nothing changes; and each end is the one most likely on its own. Its known bias
/// (the median of a sum of waits is not the sum of medians) is measured by the trace replay in bench/README.md.</para>
/// <para>A likely start is never after the guaranteed one (that one is promised), and never "now" for a request the
/// real plan keeps waiting: at the earliest, the first moment a GPU of its type is likely to free.</para></summary>
public static class LikelyStarts
{
    /// <param name="now">The planning instant.</param>
    /// <param name="nodes">As for <see cref="BackfillPlanner.Plan"/>.</param>
    /// <param name="allocations">GPUs held now.</param>
    /// <param name="likelyEndsAt">When each holder will likely free its GPUs.</param>
    /// <param name="likelyQueue">The waiting requests, in the same order as for the guaranteed plan, each with its likely duration.</param>
    /// <param name="guaranteed">The guaranteed plan (booked ends and durations).</param>
    /// <returns>The likely start of every request <paramref name="guaranteed"/> left waiting with an estimate.</returns>
    public static IReadOnlyDictionary<string, DateTimeOffset> Plan(DateTimeOffset now, IReadOnlyList<ComputeNode> nodes,
        IReadOnlyCollection<GpuAllocation> allocations, IReadOnlyDictionary<string, DateTimeOffset> likelyEndsAt,
        IReadOnlyList<PlanRequest> likelyQueue, Plan guaranteed)
    {
        var result = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        if (!guaranteed.Waits.Any(w => w.EstimatedStartAt is not null))
        {
            return result;
        }

        // The guaranteed plan's bookings are promises the real passes will hold, so the likely plan holds them too.
        var slots = guaranteed.Waits.Where(w => w.EstimatedStartAt is not null)
            .ToDictionary(w => w.ReservationId, w => new PlannedSlot(w.EstimatedStartAt!.Value, w.Nodes), StringComparer.Ordinal);
        var likely = BackfillPlanner.Plan(now, nodes, allocations, likelyEndsAt, likelyQueue, slots);
        var starts = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var start in likely.Starts)
        {
            starts[start.ReservationId] = now;
        }

        foreach (var wait in likely.Waits)
        {
            if (wait.EstimatedStartAt is { } at)
            {
                starts[wait.ReservationId] = at;
            }
        }

        var typeOf = nodes.ToDictionary(n => n.Name, n => n.GpuType, StringComparer.Ordinal);
        var firstFree = new Dictionary<string, DateTimeOffset>(StringComparer.OrdinalIgnoreCase);
        foreach (var holder in allocations.Where(a => typeOf.ContainsKey(a.Node)).DistinctBy(a => a.ReservationId))
        {
            var end = likelyEndsAt.TryGetValue(holder.ReservationId, out var e) ? e : now.AddMinutes(1);
            var type = typeOf[holder.Node];
            if (!firstFree.TryGetValue(type, out var known) || end < known)
            {
                firstFree[type] = end;
            }
        }

        var typeOfRequest = likelyQueue.ToDictionary(r => r.ReservationId, r => r.GpuType, StringComparer.Ordinal);
        foreach (var wait in guaranteed.Waits)
        {
            if (wait.EstimatedStartAt is not { } promised)
            {
                continue;
            }

            var at = starts.GetValueOrDefault(wait.ReservationId, promised);
            if (at <= now && typeOfRequest.TryGetValue(wait.ReservationId, out var type) && firstFree.TryGetValue(type, out var free))
            {
                at = free;
            }

            result[wait.ReservationId] = at < promised ? at : promised;
        }

        return result;
    }
}

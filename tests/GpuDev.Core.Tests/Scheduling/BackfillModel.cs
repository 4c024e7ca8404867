using GpuDev.Core.Compute;
using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;

namespace GpuDev.Core.Tests.Scheduling;

/// <summary>A reference for <see cref="BackfillPlanner"/>, written from its documented policy and none of its code, for
/// small fleets only: it is slow on purpose, so that it is easy to believe.
/// <list type="bullet">
/// <item>GPUs held now are busy from now until their holder's end time (a missing end: now + 1 minute; an end already
/// passed: the GPUs are still held now and free 1 ms later, the planner's resolution).</item>
/// <item>Requests are booked one by one in queue order, each around everything held and everything booked before it
/// (conservative backfill), at its earliest feasible start. That start is now or the end of some busy interval: free
/// GPUs only go up at an end, so a feasible start that is neither can move earlier and stay feasible. So the model
/// tries those instants in order and, at each, checks every node by sweeping the window [start, start + duration)
/// at its start and at every interval start inside it.</item>
/// <item>A node serves a request when its type matches (case-insensitively) and it carries every requested label.
/// Single node: the node with the fewest GPUs free at the start (tightest fit), then the first by name. Multinode:
/// whole nodes only (capacity = GPUs / nodes), all at the same start, the first ones by name.</item>
/// <item>A request no node (or not enough whole nodes) could ever hold gets no start and books nothing.</item>
/// </list></summary>
internal static class BackfillModel
{
    /// <summary>The model's answer for one request: its start (null: never), the nodes it is booked on (in rank order),
    /// and whether it is a single-node booking after now that another node could take at the same start (a tie that
    /// the tightest fit decided).</summary>
    internal sealed record Booking(DateTimeOffset? Start, IReadOnlyList<string> Nodes, bool Tied = false);

    private sealed record Busy(string Node, DateTimeOffset From, DateTimeOffset To, int Gpus);

    public static IReadOnlyDictionary<string, Booking> Schedule(DateTimeOffset now, IReadOnlyList<ComputeNode> nodes,
        IReadOnlyCollection<GpuAllocation> allocations, IReadOnlyDictionary<string, DateTimeOffset> endsAt, IReadOnlyList<PlanRequest> queue)
    {
        var busy = allocations
            .GroupBy(a => (a.Node, a.ReservationId))
            .Select(g => new Busy(g.Key.Node, now, HolderEnd(now, endsAt, g.Key.ReservationId), g.Count()))
            .ToList();
        var bookings = new Dictionary<string, Booking>(StringComparer.Ordinal);

        // Types never share a node, so one pass over the whole queue books each type's requests in their own order.
        foreach (var request in queue)
        {
            var booking = Book(now, nodes, busy, request);
            bookings[request.ReservationId] = booking;
            if (booking.Start is { } start)
            {
                var perNode = request.NodeCount > 1 ? request.GpuCount / request.NodeCount : request.GpuCount;
                busy.AddRange(booking.Nodes.Select(n => new Busy(n, start, start + request.Duration, perNode)));
            }
        }

        return bookings;
    }

    public static DateTimeOffset HolderEnd(DateTimeOffset now, IReadOnlyDictionary<string, DateTimeOffset> endsAt, string holder) =>
        !endsAt.TryGetValue(holder, out var end) ? now.AddMinutes(1)
        : end > now ? end
        : now.AddMilliseconds(1);

    private static Booking Book(DateTimeOffset now, IReadOnlyList<ComputeNode> nodes, List<Busy> busy, PlanRequest request)
    {
        var serving = nodes.Where(n => string.Equals(n.GpuType, request.GpuType, StringComparison.OrdinalIgnoreCase) && HasLabels(n, request)).ToList();
        var multinode = request.NodeCount > 1;
        var perNode = multinode ? request.GpuCount / request.NodeCount : request.GpuCount;
        var candidates = multinode
            ? serving.Where(n => n.GpuCount == perNode).ToList()
            : serving.Where(n => n.GpuCount >= perNode).ToList();
        if (candidates.Count < (multinode ? request.NodeCount : 1))
        {
            return new Booking(null, []);
        }

        var instants = busy.Select(b => b.To).Where(t => t > now).Append(now).Distinct().Order();
        foreach (var start in instants)
        {
            var end = start + request.Duration;
            var fit = candidates.Where(n => Fits(busy, n, perNode, start, end)).ToList();
            if (multinode && fit.Count >= request.NodeCount)
            {
                return new Booking(start, [.. fit.Select(n => n.Name).Order(StringComparer.Ordinal).Take(request.NodeCount)]);
            }

            if (!multinode && fit.Count > 0)
            {
                var tightest = fit.OrderBy(n => n.GpuCount - Used(busy, n.Name, start)).ThenBy(n => n.Name, StringComparer.Ordinal).First();
                return new Booking(start, [tightest.Name], Tied: start > now && fit.Count > 1);
            }
        }

        // After the last end everything is free, so a request some node can hold always fits by then.
        throw new InvalidOperationException($"model: no start found for {request.ReservationId}");
    }

    private static bool HasLabels(ComputeNode node, PlanRequest request) =>
        request.NodeLabels is null || request.NodeLabels.All(l => node.Labels is not null && node.Labels.TryGetValue(l.Key, out var v) && v == l.Value);

    /// <summary>Whether <paramref name="gpus"/> GPUs of <paramref name="node"/> are free at every instant of [start, end):
    /// usage only rises where an interval starts, so checking the window's start and those instants is enough.</summary>
    private static bool Fits(List<Busy> busy, ComputeNode node, int gpus, DateTimeOffset start, DateTimeOffset end) =>
        busy.Where(b => b.Node == node.Name && b.From > start && b.From < end).Select(b => b.From).Append(start)
            .All(t => Used(busy, node.Name, t) + gpus <= node.GpuCount);

    private static int Used(List<Busy> busy, string node, DateTimeOffset at) =>
        busy.Where(b => b.Node == node && b.From <= at && at < b.To).Sum(b => b.Gpus);
}

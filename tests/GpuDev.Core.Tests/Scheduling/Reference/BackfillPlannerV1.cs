using System.Globalization;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;

namespace GpuDev.Core.Tests.Scheduling.Reference;

/// <summary>The backfill planner as it was before the planning pass was made to scale (commit 6605e3c: a linear scan of
/// every node per request), kept unchanged as an oracle: <see cref="BackfillPlanner"/> must decide exactly what this one
/// decides (<c>BackfillPlannerIdentityTests</c>). Only the names changed, and <c>PlanRequest</c>'s internal label
/// helpers were copied in. Do not optimize or fix it.</summary>
internal static class BackfillPlannerV1
{
    /// <param name="now">The planning instant.</param>
    /// <param name="nodes">Nodes that take new work.</param>
    /// <param name="allocations">GPUs held now.</param>
    /// <param name="endsAt">When each holder's GPUs free up (missing: treated as freeing at <paramref name="now"/> + 1 minute).</param>
    /// <param name="queue">Waiting requests, oldest first.</param>
    public static Plan Plan(DateTimeOffset now, IReadOnlyList<ComputeNode> nodes, IReadOnlyCollection<GpuAllocation> allocations,
        IReadOnlyDictionary<string, DateTimeOffset> endsAt, IReadOnlyList<PlanRequest> queue)
    {
        var t0 = now.ToUnixTimeMilliseconds();
        var starts = new List<PlannedStart>();
        var waits = new List<PlannedWait>();
        var taken = allocations.GroupBy(a => a.Node).ToDictionary(g => g.Key, g => g.Select(a => a.GpuIndex).ToHashSet(), StringComparer.Ordinal);
        var byNode = allocations.ToLookup(a => a.Node, StringComparer.Ordinal);
        foreach (var group in queue.GroupBy(r => r.GpuType, StringComparer.OrdinalIgnoreCase))
        {
            var profiles = nodes
                .Where(n => string.Equals(n.GpuType, group.Key, StringComparison.OrdinalIgnoreCase))
                .OrderBy(n => n.Name, StringComparer.Ordinal)
                .Select(n => new NodeProfileV1(n.Name, n.GpuCount, t0, n.Labels))
                .ToList();
            foreach (var profile in profiles)
            {
                foreach (var holder in byNode[profile.Name].GroupBy(a => a.ReservationId))
                {
                    var end = endsAt.TryGetValue(holder.Key, out var e) ? e.ToUnixTimeMilliseconds() : t0 + 60_000;
                    profile.Reserve(t0, Math.Max(end, t0 + 1), holder.Count(), holder.Key);
                }
            }

            var position = 0;
            var freeNow = new FreeNow(profiles, t0);
            foreach (var request in group)
            {
                var duration = Math.Max(1, (long)request.Duration.TotalMilliseconds);
                var booked = request.NodeCount > 1
                    ? BookMultinode(profiles, request, duration, t0)
                    : BookSingle(profiles, request, duration, t0);
                if (booked is { Start: var start, Nodes: var chosen } && start == t0)
                {
                    starts.Add(new PlannedStart(request.ReservationId, Place(request, chosen, taken)));
                    freeNow.Invalidate();
                    continue;
                }

                position++;
                waits.Add(new PlannedWait(request.ReservationId, position,
                    booked is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(booked.Value.Start),
                    Reason(request, profiles, booked, freeNow)));
            }
        }

        return new Plan(starts, waits);
    }

    private static (long Start, List<NodeProfileV1> Nodes)? BookSingle(List<NodeProfileV1> profiles, PlanRequest request, long duration, long t0)
    {
        NodeProfileV1? best = null;
        var bestStart = long.MaxValue;
        var bestFree = int.MaxValue;
        foreach (var profile in profiles)
        {
            if (!Allows(request, profile))
            {
                continue;
            }

            var lowerBound = profile.FirstFree(request.GpuCount);
            if (lowerBound < 0 || lowerBound > bestStart)
            {
                continue;
            }

            var start = profile.EarliestFit(request.GpuCount, duration, t0, bestStart == long.MaxValue ? long.MaxValue : bestStart + 1);
            if (start < 0)
            {
                continue;
            }

            var free = profile.FreeAt(start);
            if (start < bestStart || (start == bestStart && free < bestFree))
            {
                (best, bestStart, bestFree) = (profile, start, free);
            }
        }

        if (best is null)
        {
            return null;
        }

        best.Reserve(bestStart, bestStart + duration, request.GpuCount, request.ReservationId);
        return (bestStart, [best]);
    }

    private static (long Start, List<NodeProfileV1> Nodes)? BookMultinode(List<NodeProfileV1> profiles, PlanRequest request, long duration, long t0)
    {
        var perNode = request.GpuCount / request.NodeCount;
        var whole = profiles.Where(p => p.Capacity == perNode && Allows(request, p)).ToList();
        if (whole.Count < request.NodeCount)
        {
            return null;
        }

        var t = t0;
        while (true)
        {
            var fits = whole
                .Select(p => (Profile: p, Start: p.EarliestFit(perNode, duration, t, long.MaxValue)))
                .Where(x => x.Start >= 0)
                .OrderBy(x => x.Start)
                .ThenBy(x => x.Profile.Name, StringComparer.Ordinal)
                .Take(request.NodeCount)
                .ToList();
            if (fits.Count < request.NodeCount)
            {
                return null;
            }

            var latest = fits[^1].Start;
            if (latest == t)
            {
                foreach (var (profile, _) in fits)
                {
                    profile.Reserve(t, t + duration, perNode, request.ReservationId);
                }

                return (t, [.. fits.Select(f => f.Profile)]);
            }

            t = latest;
        }
    }

    private static List<NodeAllocation> Place(PlanRequest request, List<NodeProfileV1> chosen, Dictionary<string, HashSet<int>> taken)
    {
        var perNode = request.NodeCount > 1 ? request.GpuCount / request.NodeCount : request.GpuCount;
        var placement = new List<NodeAllocation>();
        for (var rank = 0; rank < chosen.Count; rank++)
        {
            var node = chosen[rank];
            if (!taken.TryGetValue(node.Name, out var used))
            {
                taken[node.Name] = used = [];
            }

            var indices = Enumerable.Range(0, node.Capacity).Where(i => !used.Contains(i)).Take(perNode).ToList();
            used.UnionWith(indices);
            placement.Add(new NodeAllocation(rank, node.Name, indices));
        }

        return placement;
    }

    private static string Reason(PlanRequest request, List<NodeProfileV1> profiles, (long Start, List<NodeProfileV1> Nodes)? booked, FreeNow now)
    {
        var type = request.GpuType;
        if (profiles.Count == 0)
        {
            return $"no {type} node is online";
        }

        if (request.NodeLabels is { Count: > 0 } && !profiles.Any(p => Allows(request, p)))
        {
            return $"no {type} node{LabelText(request)} is online";
        }

        if (booked is not { Start: var start, Nodes: var chosen })
        {
            return request.NodeCount > 1
                ? $"needs {request.NodeCount} whole {type} nodes{LabelText(request)}; the fleet has {profiles.Count(p => p.Capacity == request.GpuCount / request.NodeCount && Allows(request, p))}"
                : $"no {type} node{LabelText(request)} has {request.GpuCount} GPUs";
        }

        // An RFC 3339 UTC time, not a bare clock time: the day is part of it, and clients show it in the reader's zone.
        var at = DateTimeOffset.FromUnixTimeMilliseconds(start).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        string? holder = null;
        foreach (var node in chosen)
        {
            if (node.EndsAt.TryGetValue(start, out var id))
            {
                holder = id;
                break;
            }
        }

        var when = holder is null ? $"at {at}" : $"at {at} when {holder[..Math.Min(8, holder.Length)]} ends";
        if (request.NodeCount > 1)
        {
            var freeNodes = now.WholeNodes(request);
            return $"needs {request.NodeCount} whole free {type} nodes{LabelText(request)}; {freeNodes} free now; {request.NodeCount} free {when}";
        }

        var (freeNow, largest) = now.LargestBlock(request);
        return freeNow >= request.GpuCount
            ? $"waiting behind earlier requests for {type}{LabelText(request)} (first in, first served); {request.GpuCount} free {when} on {chosen[0].Name}"
            : $"no node{LabelText(request)} has {request.GpuCount} free {type}; largest free block is {freeNow} on {largest}; {request.GpuCount} free {when} on {chosen[0].Name}";
    }

    /// <summary><see cref="PlanRequest"/>'s label rule at 6605e3c, copied so that the oracle does not follow later changes.</summary>
    private static bool Allows(PlanRequest request, NodeProfileV1 node) =>
        request.NodeLabels is not { Count: > 0 } || request.NodeLabels.All(l => node.Labels is not null && node.Labels.TryGetValue(l.Key, out var v) && v == l.Value);

    private static string LabelText(PlanRequest request) =>
        request.NodeLabels is { Count: > 0 } ? " with " + string.Join(",", request.NodeLabels.Select(l => $"{l.Key}={l.Value}")) : "";

    /// <summary>What is free at the planning instant, for the reasons; recomputed only after a start. A request with node
    /// labels counts only the nodes it may use (computed for it, not cached: labelled requests are few).</summary>
    private sealed class FreeNow(List<NodeProfileV1> profiles, long t0)
    {
        private (int Free, string Node)? _largest;
        private int? _wholeNodes;

        public (int Free, string Node) LargestBlock(PlanRequest request) => request.NodeLabels is { Count: > 0 }
            ? Largest(profiles.Where(p => Allows(request, p)))
            : _largest ??= Largest(profiles);

        public int WholeNodes(PlanRequest request) => request.NodeLabels is { Count: > 0 }
            ? profiles.Count(p => Allows(request, p) && p.FreeAt(t0) == p.Capacity)
            : _wholeNodes ??= profiles.Count(p => p.FreeAt(t0) == p.Capacity);

        public void Invalidate() => (_largest, _wholeNodes) = (null, null);

        private (int Free, string Node) Largest(IEnumerable<NodeProfileV1> allowed) => allowed
            .Select(p => (Free: p.FreeAt(t0), Node: p.Name))
            .OrderByDescending(x => x.Free).ThenBy(x => x.Node, StringComparer.Ordinal).First();
    }
}

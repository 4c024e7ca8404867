using System.Globalization;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;

namespace GpuDev.Core.Scheduling;

/// <summary>First come, first served per GPU type, with conservative backfill (as in Slurm): in arrival order,
/// each request is booked at the earliest time its GPUs stay free for its whole duration, around everything
/// already running and everything booked for requests ahead of it. A later request therefore starts early
/// only in a gap that delays no one ahead of it. Requests booked at "now" start; the
/// others keep their booked time as an honest ETA (exact when nothing ends early and nothing arrives; never later
/// than told before, see promises below). Single-node requests go to the node whose free block fits most tightly (fewest GPUs free at the
/// start, then the first by name); multinode requests take whole nodes, all or nothing (the first free ones by
/// name). Pure: no I/O, no clock.
/// <para>Promises: planned from scratch, a pass can book a request later than the previous pass did — when early
/// ends let requests ahead of it move to other nodes (a tie flipped by the tightest fit, a best fit that changed),
/// they can take the GPUs it was booked on. Given the previous pass's bookings (<c>promised</c>), a pass holds each
/// still-valid booked slot for its request while the requests ahead are booked, and gives it back just before
/// booking the request itself, which therefore lands there or sooner: the guaranteed start never moves later (on the
/// synthetic month in bench/README.md, 49 of 12,934 waiting requests started after their first ETA from scratch; 0
/// with promises). A slot that no longer fits because a holder ends later than planned (extended, or a teardown
/// outlasting its estimate) is held at the earliest time it fits on the same nodes: the request keeps its place, and
/// those behind it move with it rather than past it; a slot whose node left is dropped.</para>
/// <para>The node (or nodes) for each request come from a <see cref="StartIndex"/>, which tries only the nodes that could
/// win but picks exactly what a scan of every node with these rules picks (BackfillPlannerIdentityTests holds it to the
/// scanning planner of commit 6605e3c).</para></summary>
public static class BackfillPlanner
{
    /// <param name="now">The planning instant.</param>
    /// <param name="nodes">Nodes that take new work.</param>
    /// <param name="allocations">GPUs held now.</param>
    /// <param name="endsAt">When each holder's GPUs free up (missing: treated as freeing at <paramref name="now"/> + 1 minute).</param>
    /// <param name="queue">Waiting requests, oldest first.</param>
    /// <param name="promised">Where the previous pass booked waiting requests (<see cref="PlannedWait.Nodes"/> and
    /// <see cref="PlannedWait.EstimatedStartAt"/>). Each slot (where its nodes still have the GPUs free for it) is
    /// held for its request while the requests ahead are booked, and given back just before the request itself is: so
    /// the request is booked there or sooner, and an ETA never moves later — even when early ends let the requests ahead
    /// move to other nodes (which, planned from scratch, can push a request behind them later). A slot that no longer
    /// fits because a holder ends later is held at the earliest time it fits on its nodes (so a later request cannot take
    /// its place); one whose node left is dropped and its request booked from scratch. Null: plan from scratch.</param>
    public static Plan Plan(DateTimeOffset now, IReadOnlyList<ComputeNode> nodes, IReadOnlyCollection<GpuAllocation> allocations,
        IReadOnlyDictionary<string, DateTimeOffset> endsAt, IReadOnlyList<PlanRequest> queue,
        IReadOnlyDictionary<string, PlannedSlot>? promised = null)
    {
        var t0 = now.ToUnixTimeMilliseconds();
        var starts = new List<PlannedStart>();
        var waits = new List<PlannedWait>();
        var taken = allocations.GroupBy(a => a.Node).ToDictionary(g => g.Key, g => g.Select(a => a.GpuIndex).ToHashSet(), StringComparer.Ordinal);
        var byNode = allocations.ToLookup(a => a.Node, StringComparer.Ordinal);
        foreach (var group in queue.GroupBy(r => r.GpuType, StringComparer.OrdinalIgnoreCase))
        {
            var profiles = Profiles(group.Key, nodes, byNode, endsAt, t0);
            var position = 0;
            var index = new StartIndex(profiles);
            var held = promised is { Count: > 0 } ? HoldPromises(index, profiles, group, promised, t0) : null;
            var freeNow = new FreeNow(profiles, t0);
            foreach (var request in group)
            {
                var duration = Math.Max(1, (long)request.Duration.TotalMilliseconds);
                if (held is not null && held.Remove(request.ReservationId, out var slot))
                {
                    foreach (var node in slot.Nodes)
                    {
                        index.Release(node, slot.From, slot.From + duration, slot.PerNode, request.ReservationId);
                    }
                }

                var booked = request.NodeCount > 1
                    ? BookMultinode(index, profiles, request, duration, t0)
                    : BookSingle(index, profiles, request, duration);
                if (booked is { Start: var start, Nodes: var chosen } && start == t0)
                {
                    starts.Add(new PlannedStart(request.ReservationId, Place(request, chosen, taken)));
                    freeNow.Invalidate();
                    continue;
                }

                position++;
                waits.Add(new PlannedWait(request.ReservationId, position,
                    booked is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(booked.Value.Start),
                    Reason(request, profiles, booked, freeNow))
                {
                    Nodes = booked is { Nodes: var on } ? [.. on.Select(n => n.Name)] : [],
                });
            }
        }

        return new Plan(starts, waits);
    }

    /// <summary>The promised starts that the fleet as given can no longer keep: each waiting request whose slot (see
    /// <see cref="Plan"/>'s <c>promised</c>), held in queue order as a pass holds it, would start later than promised, with
    /// the start it would be held at. A caller compares the fleet with and without a change (an extension, say) to learn
    /// whether the change breaks a promise.</summary>
    public static IReadOnlyList<DelayedPromise> DelayedPromises(DateTimeOffset now, IReadOnlyList<ComputeNode> nodes,
        IReadOnlyCollection<GpuAllocation> allocations, IReadOnlyDictionary<string, DateTimeOffset> endsAt, IReadOnlyList<PlanRequest> queue,
        IReadOnlyDictionary<string, PlannedSlot> promised)
    {
        var t0 = now.ToUnixTimeMilliseconds();
        var byNode = allocations.ToLookup(a => a.Node, StringComparer.Ordinal);
        var delayed = new List<DelayedPromise>();
        foreach (var group in queue.GroupBy(r => r.GpuType, StringComparer.OrdinalIgnoreCase))
        {
            var profiles = Profiles(group.Key, nodes, byNode, endsAt, t0);
            foreach (var (id, held) in HoldPromises(new StartIndex(profiles), profiles, group, promised, t0))
            {
                var promisedAt = promised[id].Start;
                if (held.From > Math.Max(t0, promisedAt.ToUnixTimeMilliseconds()))
                {
                    delayed.Add(new DelayedPromise(id, promisedAt, DateTimeOffset.FromUnixTimeMilliseconds(held.From)));
                }
            }
        }

        return delayed;
    }

    /// <summary>The nodes of one GPU type, in name order, each with its holders booked until they end (missing: a minute
    /// from now).</summary>
    private static List<NodeProfile> Profiles(string gpuType, IReadOnlyList<ComputeNode> nodes, ILookup<string, GpuAllocation> byNode,
        IReadOnlyDictionary<string, DateTimeOffset> endsAt, long t0)
    {
        var profiles = nodes
            .Where(n => string.Equals(n.GpuType, gpuType, StringComparison.OrdinalIgnoreCase))
            .OrderBy(n => n.Name, StringComparer.Ordinal)
            .Select(n => new NodeProfile(n.Name, n.GpuCount, t0, n.Labels))
            .ToList();
        foreach (var profile in profiles)
        {
            foreach (var holder in byNode[profile.Name].GroupBy(a => a.ReservationId))
            {
                var end = endsAt.TryGetValue(holder.Key, out var e) ? e.ToUnixTimeMilliseconds() : t0 + 60_000;
                profile.Reserve(t0, Math.Max(end, t0 + 1), holder.Count(), holder.Key);
            }
        }

        return profiles;
    }

    /// <summary>Holds every promised slot, as a booking of its request (from now at the earliest, for the request's
    /// duration); returns the held ones by request. A slot that no longer fits where it was (a holder ends later than
    /// planned: extended, or its teardown outlasting the estimate) is held at the earliest time it fits on the same nodes,
    /// so the request keeps its place ahead of the requests behind it, which book around it; only a slot whose nodes are
    /// gone or no longer allowed is dropped.</summary>
    private static Dictionary<string, (long From, int PerNode, List<int> Nodes)> HoldPromises(StartIndex index, List<NodeProfile> profiles,
        IEnumerable<PlanRequest> requests, IReadOnlyDictionary<string, PlannedSlot> promised, long t0)
    {
        var held = new Dictionary<string, (long From, int PerNode, List<int> Nodes)>(StringComparer.Ordinal);
        var position = profiles.Select((p, i) => (p.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        foreach (var request in requests)
        {
            if (!promised.TryGetValue(request.ReservationId, out var slot) || slot.Nodes.Count != Math.Max(1, request.NodeCount))
            {
                continue;
            }

            var perNode = request.NodeCount > 1 ? request.GpuCount / request.NodeCount : request.GpuCount;
            var duration = Math.Max(1, (long)request.Duration.TotalMilliseconds);
            var nodes = slot.Nodes.Select(n => position.TryGetValue(n, out var i) ? i : -1).ToList();
            if (nodes.Any(i => i < 0 || !request.Allows(profiles[i])) || nodes.Distinct().Count() != nodes.Count)
            {
                continue;
            }

            var from = EarliestFitOnAll(profiles, nodes, perNode, duration, Math.Max(t0, slot.Start.ToUnixTimeMilliseconds()));
            if (from < 0)
            {
                continue;
            }

            var to = from + duration;

            foreach (var node in nodes)
            {
                index.Reserve(node, from, to, perNode, request.ReservationId);
            }

            held[request.ReservationId] = (from, perNode, nodes);
        }

        return held;
    }

    /// <summary>The earliest start ≥ <paramref name="from"/> at which <paramref name="gpus"/> GPUs stay free for
    /// <paramref name="duration"/> on every one of <paramref name="nodes"/>; -1 when never (a node has fewer GPUs).</summary>
    private static long EarliestFitOnAll(List<NodeProfile> profiles, List<int> nodes, int gpus, long duration, long from)
    {
        while (true)
        {
            var latest = from;
            foreach (var node in nodes)
            {
                var fit = profiles[node].EarliestFit(gpus, duration, from, long.MaxValue);
                if (fit < 0)
                {
                    return -1;
                }

                latest = Math.Max(latest, fit);
            }

            if (latest == from)
            {
                return from;
            }

            from = latest;
        }
    }

    /// <summary>Books the node where the request starts earliest (then the fewest GPUs free at that start, then the first
    /// by name); null when no node it may use has that many GPUs.</summary>
    private static (long Start, List<NodeProfile> Nodes)? BookSingle(StartIndex index, List<NodeProfile> profiles, PlanRequest request, long duration)
    {
        var best = index.FindSingle(request, request.GpuCount, duration, out var start);
        if (best < 0)
        {
            return null;
        }

        index.Reserve(best, start, start + duration, request.GpuCount, request.ReservationId);
        return (start, [profiles[best]]);
    }

    /// <summary>Books the earliest time t at which enough whole nodes are free for the whole duration, on the first of
    /// them by name; null when the request may use fewer whole nodes than it needs. From t = now: take the nodes that
    /// can start earliest at or after t; if the last of them cannot start at t, move t to its start and look again (t
    /// never passes the answer: at the answer enough nodes fit, so the needed number of them start at or before it).</summary>
    private static (long Start, List<NodeProfile> Nodes)? BookMultinode(StartIndex index, List<NodeProfile> profiles, PlanRequest request, long duration, long t0)
    {
        var perNode = request.GpuCount / request.NodeCount;
        if (index.WholeNodes(request, perNode) < request.NodeCount)
        {
            return null;
        }

        var t = t0;
        while (true)
        {
            var fits = index.FindWhole(request, perNode, duration, t, request.NodeCount);
            if (fits.Count < request.NodeCount)
            {
                return null;
            }

            var latest = fits[^1].Start;
            if (latest == t)
            {
                var chosen = new List<NodeProfile>(fits.Count);
                foreach (var (_, node) in fits)
                {
                    index.Reserve(node, t, t + duration, perNode, request.ReservationId);
                    chosen.Add(profiles[node]);
                }

                return (t, chosen);
            }

            t = latest;
        }
    }

    private static List<NodeAllocation> Place(PlanRequest request, List<NodeProfile> chosen, Dictionary<string, HashSet<int>> taken)
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

    private static string Reason(PlanRequest request, List<NodeProfile> profiles, (long Start, List<NodeProfile> Nodes)? booked, FreeNow now)
    {
        var type = request.GpuType;
        if (profiles.Count == 0)
        {
            return $"no {type} node is online";
        }

        if (request.NodeLabels is { Count: > 0 } && !profiles.Any(request.Allows))
        {
            return $"no {type} node{request.LabelText} is online";
        }

        if (booked is not { Start: var start, Nodes: var chosen })
        {
            return request.NodeCount > 1
                ? $"needs {request.NodeCount} whole {type} nodes{request.LabelText}; the fleet has {profiles.Count(p => p.Capacity == request.GpuCount / request.NodeCount && request.Allows(p))}"
                : $"no {type} node{request.LabelText} has {request.GpuCount} GPUs";
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
            return $"needs {request.NodeCount} whole free {type} nodes{request.LabelText}; {freeNodes} free now; {request.NodeCount} free {when}";
        }

        var (freeNow, largest) = now.LargestBlock(request);
        return freeNow >= request.GpuCount
            ? $"waiting behind earlier requests for {type}{request.LabelText} (first in, first served); {request.GpuCount} free {when} on {chosen[0].Name}"
            : $"no node{request.LabelText} has {request.GpuCount} free {type}; largest free block is {freeNow} on {largest}; {request.GpuCount} free {when} on {chosen[0].Name}";
    }

    /// <summary>What is free at the planning instant, for the reasons; recomputed only after a start. A request with node
    /// labels counts only the nodes it may use (computed for it, not cached: labelled requests are few). Plain loops over
    /// the nodes in name order: the first of the largest blocks is the one with the smallest name.</summary>
    private sealed class FreeNow(List<NodeProfile> profiles, long t0)
    {
        private (int Free, string Node)? _largest;
        private int? _wholeNodes;

        public (int Free, string Node) LargestBlock(PlanRequest request) => request.NodeLabels is { Count: > 0 }
            ? Largest(request)
            : _largest ??= Largest(null);

        public int WholeNodes(PlanRequest request) => request.NodeLabels is { Count: > 0 }
            ? Whole(request)
            : _wholeNodes ??= Whole(null);

        public void Invalidate() => (_largest, _wholeNodes) = (null, null);

        private (int Free, string Node) Largest(PlanRequest? labelled)
        {
            (int Free, string Node)? largest = null;
            foreach (var profile in profiles)
            {
                if (labelled is not null && !labelled.Allows(profile))
                {
                    continue;
                }

                var free = profile.FreeAt(t0);
                if (largest is null || free > largest.Value.Free)
                {
                    largest = (free, profile.Name);
                }
            }

            return largest ?? throw new InvalidOperationException("no node to take a free block from");
        }

        private int Whole(PlanRequest? labelled)
        {
            var count = 0;
            foreach (var profile in profiles)
            {
                if ((labelled is null || labelled.Allows(profile)) && profile.FreeAt(t0) == profile.Capacity)
                {
                    count++;
                }
            }

            return count;
        }
    }
}

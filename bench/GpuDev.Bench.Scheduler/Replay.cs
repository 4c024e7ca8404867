using System.Diagnostics;
using System.Globalization;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;

namespace GpuDev.Bench.Scheduler;

internal enum Policy
{
    /// <summary>Per GPU type, the head of the queue starts before anything behind it; no backfill. Placement:
    /// <see cref="PlacementPlanner.TryPlace"/> (best fit single node, whole free nodes for multinode).</summary>
    StrictFifo,

    /// <summary><see cref="BackfillPlanner.Plan"/>, re-run from scratch after every event.</summary>
    Backfill,
}

/// <summary>One request during a replay.</summary>
internal sealed class Job(TraceRequest request, int index, int nodeCount)
{
    public TraceRequest Request { get; } = request;
    public string Id { get; } = $"r{index:D6}";
    public int NodeCount { get; } = nodeCount;
    public long SubmitMs { get; } = (long)Math.Round(request.SubmitAtS * 1000);
    public long DurationMs { get; } = Math.Max(1, (long)Math.Round(request.Hours * 3_600_000));

    /// <summary>How long it actually holds its GPUs (the early cancel, when the trace has one).</summary>
    public long RunMs => Request.EndsAfterS is { } e ? Math.Clamp((long)Math.Round(e * 1000), 1, DurationMs) : DurationMs;

    public bool EndsEarly => RunMs < DurationMs;

    public bool Large => Request.Gpus >= 8;

    public PlanRequest PlanRequest => field ??= new PlanRequest(Id, Request.GpuType, Request.Gpus, NodeCount, TimeSpan.FromMilliseconds(DurationMs));

    public long Start { get; set; } = -1;

    public long End { get; set; } = -1;

    /// <summary>ETA given at the first planning pass that left it waiting; -1: "never"; null: started at its first pass.</summary>
    public long? Eta { get; set; }

    /// <summary>Where and when the last pass booked it while it waits: passed back to the next pass to keep the promise.</summary>
    public PlannedSlot? Slot { get; set; }

    /// <summary>The likely start given at that same first pass (<see cref="LikelyStarts"/>; backfill only); -1: none.</summary>
    public long? Likely { get; set; }

    /// <summary>An early end happened after its ETA was given and before it started.</summary>
    public bool EtaInvalidated { get; set; }

    public List<GpuAllocation> Held { get; } = [];
}

internal sealed record ReplayResult(Policy Policy, List<Job> Jobs, int Gpus, List<double> PassMs);

/// <summary>Discrete-event replay of a trace on a fixed fleet. Events: arrivals and ends (the planned end, or the early
/// end the trace says); after each instant with events, one planning pass of the policy. The policy sees planned ends
/// only — it does not know who will cancel early.</summary>
internal sealed class Replay
{
    public static readonly DateTimeOffset Epoch = new(2025, 1, 6, 0, 0, 0, TimeSpan.Zero); // a Monday

    private readonly Policy _policy;
    private readonly List<ComputeNode> _nodes;
    private readonly int _gpusPerNode;
    private readonly List<Job> _jobs;
    private readonly Dictionary<string, Job> _byId = new(StringComparer.Ordinal);
    private readonly List<Job> _queue = [];
    private readonly HashSet<Job> _running = [];
    private readonly PriorityQueue<Job, long> _ends = new();
    private readonly Dictionary<string, DateTimeOffset> _endsAt = new(StringComparer.Ordinal);
    private readonly HashSet<(string Node, int Gpu)> _busy = [];
    private readonly List<double> _passMs = [];
    private readonly List<EndedReservation> _history = [];
    private EndPredictor _predictor = EndPredictor.None;
    private int _learnedFrom;

    private Replay(Policy policy, List<ComputeNode> nodes, int gpusPerNode, List<Job> jobs)
    {
        _policy = policy;
        _nodes = nodes;
        _gpusPerNode = gpusPerNode;
        _jobs = jobs;
        foreach (var j in jobs)
        {
            _byId[j.Id] = j;
        }
    }

    /// <summary>The fleet: <paramref name="nodesPerType"/> nodes × <paramref name="gpusPerNode"/> GPUs of every GPU type in the trace.</summary>
    public static List<ComputeNode> Fleet(IEnumerable<TraceRequest> trace, int nodesPerType, int gpusPerNode) =>
        [.. trace.Select(r => r.GpuType.ToLowerInvariant()).Distinct().Order(StringComparer.Ordinal)
            .SelectMany(t => Enumerable.Range(0, nodesPerType).Select(i => new ComputeNode($"{t}-{i:D3}", t, gpusPerNode, Simulated: true)))];

    /// <summary>Requests in submit order; requests that can never run on the fleet (more GPUs than a node, not a whole
    /// number of nodes, or more nodes than the fleet) are left out and returned as rejected.</summary>
    public static (List<Job> Jobs, List<TraceRequest> Rejected) Admit(IEnumerable<TraceRequest> trace, int nodesPerType, int gpusPerNode)
    {
        var jobs = new List<Job>();
        var rejected = new List<TraceRequest>();
        foreach (var r in trace.OrderBy(r => r.SubmitAtS).ThenBy(r => r.Line))
        {
            var nodeCount = r.Gpus <= gpusPerNode ? 1 : r.Gpus / gpusPerNode;
            if ((r.Gpus > gpusPerNode && r.Gpus % gpusPerNode != 0) || nodeCount > nodesPerType)
            {
                rejected.Add(r);
                continue;
            }

            jobs.Add(new Job(r, jobs.Count, nodeCount));
        }

        return (jobs, rejected);
    }

    public static ReplayResult Run(Policy policy, IReadOnlyList<TraceRequest> trace, int nodesPerType, int gpusPerNode)
    {
        var nodes = Fleet(trace, nodesPerType, gpusPerNode);
        var (jobs, _) = Admit(trace, nodesPerType, gpusPerNode);
        var replay = new Replay(policy, nodes, gpusPerNode, jobs);
        replay.Loop();
        return new ReplayResult(policy, jobs, nodes.Sum(n => n.GpuCount), replay._passMs);
    }

    private void Loop()
    {
        var next = 0;
        while (true)
        {
            var now = long.MaxValue;
            if (next < _jobs.Count)
            {
                now = _jobs[next].SubmitMs;
            }

            if (_ends.TryPeek(out _, out var firstEnd))
            {
                now = Math.Min(now, firstEnd);
            }

            if (now == long.MaxValue)
            {
                break;
            }

            while (_ends.TryPeek(out var done, out var at) && at == now)
            {
                _ends.Dequeue();
                Finish(done, now);
            }

            while (next < _jobs.Count && _jobs[next].SubmitMs == now)
            {
                _queue.Add(_jobs[next++]);
            }

            if (_queue.Count > 0)
            {
                var sw = Stopwatch.StartNew();
                if (_policy == Policy.Backfill)
                {
                    PassBackfill(now);
                }
                else
                {
                    PassFifo(now);
                }

                _passMs.Add(sw.Elapsed.TotalMilliseconds);
            }
        }

        if (_queue.Count > 0)
        {
            throw new InvalidOperationException($"{_policy}: {_queue.Count} requests never started (first: {_queue[0].Id})");
        }
    }

    private void Finish(Job job, long now)
    {
        job.End = now;
        _running.Remove(job);
        _endsAt.Remove(job.Id);
        foreach (var a in job.Held)
        {
            _busy.Remove((a.Node, a.GpuIndex));
        }

        _history.Add(new EndedReservation(job.Request.User, job.Request.GpuType, job.Request.Hours, job.RunMs / 3_600_000.0));
        if (job.EndsEarly)
        {
            foreach (var w in _queue)
            {
                if (w.Eta is not null)
                {
                    w.EtaInvalidated = true;
                }
            }
        }
    }

    private void Begin(Job job, long now, IReadOnlyList<NodeAllocation> placement)
    {
        var gpus = 0;
        foreach (var node in placement)
        {
            foreach (var g in node.GpuIndices)
            {
                if (!_busy.Add((node.Node, g)))
                {
                    throw new InvalidOperationException($"{_policy}: {job.Id} placed on busy GPU {node.Node}/{g}");
                }

                job.Held.Add(new GpuAllocation(node.Node, g, job.Id));
                gpus++;
            }
        }

        if (gpus != job.Request.Gpus)
        {
            throw new InvalidOperationException($"{_policy}: {job.Id} wants {job.Request.Gpus} GPUs, placed on {gpus}");
        }

        job.Start = now;
        _running.Add(job);
        _endsAt[job.Id] = Epoch.AddMilliseconds(now + job.DurationMs);
        _ends.Enqueue(job, now + job.RunMs);
    }

    private List<GpuAllocation> Allocations() => [.. _running.SelectMany(j => j.Held)];

    private void PassBackfill(long now)
    {
        var promised = _queue.Where(j => j.Slot is not null).ToDictionary(j => j.Id, j => j.Slot!, StringComparer.Ordinal);
        var plan = BackfillPlanner.Plan(Epoch.AddMilliseconds(now), _nodes, Allocations(), _endsAt, [.. _queue.Select(j => j.PlanRequest)], promised);
        var started = new HashSet<Job>();
        foreach (var s in plan.Starts)
        {
            var job = _byId[s.ReservationId];
            Begin(job, now, s.Placement);
            started.Add(job);
        }

        IReadOnlyDictionary<string, DateTimeOffset>? likely = null;
        foreach (var w in plan.Waits)
        {
            var job = _byId[w.ReservationId];
            job.Slot = w.EstimatedStartAt is { } booked ? new PlannedSlot(booked, w.Nodes) : null;
            if (job.Eta is null)
            {
                likely ??= Likely(now, plan);
                job.Eta = w.EstimatedStartAt is { } eta ? (long)(eta - Epoch).TotalMilliseconds : -1;
                job.Likely = likely.TryGetValue(job.Id, out var at) ? (long)(at - Epoch).TotalMilliseconds : -1;
            }
        }

        _queue.RemoveAll(started.Contains);
    }

    /// <summary>The likely starts, as the server computes them: the predictor learns from every reservation ended so far
    /// in the replay (relearned as the history grows by 5%), then <see cref="LikelyStarts.Plan"/>.</summary>
    private IReadOnlyDictionary<string, DateTimeOffset> Likely(long now, Plan guaranteed)
    {
        if (_history.Count >= (_learnedFrom * 1.05) + 20)
        {
            _predictor = new EndPredictor(_history);
            _learnedFrom = _history.Count;
        }

        var at = Epoch.AddMilliseconds(now);
        var ends = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var job in _running)
        {
            ends[job.Id] = _predictor.LikelyEnd(job.Request.User, job.Request.GpuType, Epoch.AddMilliseconds(job.Start), job.Request.Hours, at);
        }

        // Now that the running ones have been placed, the queue after this pass's starts, with likely durations.
        var queue = _queue.Where(j => j.Start < 0)
            .Select(j => j.PlanRequest with { Duration = _predictor.LikelyDuration(j.Request.User, j.Request.GpuType, j.Request.Hours) })
            .ToList();
        return LikelyStarts.Plan(at, _nodes, Allocations(), ends, queue, guaranteed);
    }

    private void PassFifo(long now)
    {
        var allocations = Allocations();
        var started = new HashSet<Job>();
        foreach (var group in _queue.GroupBy(j => j.Request.GpuType, StringComparer.OrdinalIgnoreCase))
        {
            foreach (var job in group)
            {
                var placement = PlacementPlanner.TryPlace(job.Request.GpuType, job.Request.Gpus, job.NodeCount, _nodes, allocations);
                if (placement is null)
                {
                    break; // strict: nothing overtakes the head
                }

                Begin(job, now, placement);
                allocations.AddRange(job.Held);
                started.Add(job);
            }
        }

        _queue.RemoveAll(started.Contains);
        if (_queue.Any(j => j.Eta is null))
        {
            FifoEtas(now);
        }
    }

    /// <summary>What strict FIFO can promise: replays the queue forward on planned ends only (no arrivals can overtake,
    /// so this is exact when nothing ends early), with the same best-fit rule as <see cref="PlacementPlanner"/>.</summary>
    private void FifoEtas(long now)
    {
        foreach (var group in _queue.GroupBy(j => j.Request.GpuType, StringComparer.OrdinalIgnoreCase))
        {
            var nodes = _nodes.Where(n => string.Equals(n.GpuType, group.Key, StringComparison.OrdinalIgnoreCase))
                .OrderBy(n => n.Name, StringComparer.Ordinal).ToList();
            var index = nodes.Select((n, i) => (n.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
            var free = nodes.Select(n => n.GpuCount).ToArray();
            var releases = new PriorityQueue<(int Node, int Gpus), long>();
            foreach (var job in _running)
            {
                foreach (var onNode in job.Held.Where(a => index.ContainsKey(a.Node)).GroupBy(a => a.Node))
                {
                    var i = index[onNode.Key];
                    free[i] -= onNode.Count();
                    releases.Enqueue((i, onNode.Count()), job.Start + job.DurationMs);
                }
            }

            var t = now;
            foreach (var job in group)
            {
                while (true)
                {
                    while (releases.TryPeek(out var r, out var at) && at <= t)
                    {
                        releases.Dequeue();
                        free[r.Node] += r.Gpus;
                    }

                    var chosen = Fit(free, nodes, job);
                    if (chosen is not null)
                    {
                        var per = job.Request.Gpus / job.NodeCount;
                        foreach (var i in chosen)
                        {
                            free[i] -= per;
                            releases.Enqueue((i, per), t + job.DurationMs);
                        }

                        job.Eta ??= t;
                        break;
                    }

                    if (!releases.TryPeek(out _, out var nextRelease))
                    {
                        job.Eta ??= -1;
                        break;
                    }

                    t = nextRelease;
                }
            }
        }
    }

    private static List<int>? Fit(int[] free, List<ComputeNode> nodes, Job job)
    {
        if (job.NodeCount <= 1)
        {
            var best = -1;
            for (var i = 0; i < free.Length; i++)
            {
                if (free[i] >= job.Request.Gpus && (best < 0 || free[i] < free[best]))
                {
                    best = i;
                }
            }

            return best < 0 ? null : [best];
        }

        var per = job.Request.Gpus / job.NodeCount;
        var whole = Enumerable.Range(0, free.Length).Where(i => free[i] == nodes[i].GpuCount && free[i] >= per).Take(job.NodeCount).ToList();
        return whole.Count < job.NodeCount ? null : whole;
    }

    /// <summary>Replays the trace under both policies and prints a markdown comparison.</summary>
    public static void Compare(TextWriter o, string source, IReadOnlyList<TraceRequest> trace, int nodesPerType, int gpusPerNode)
    {
        var fifo = Run(Policy.StrictFifo, trace, nodesPerType, gpusPerNode);
        var backfill = Run(Policy.Backfill, trace, nodesPerType, gpusPerNode);
        var (jobs, rejected) = Admit(trace, nodesPerType, gpusPerNode);
        var types = jobs.Select(j => j.Request.GpuType.ToLowerInvariant()).Distinct().Count();
        var span = trace.Count == 0 ? 0 : trace.Max(r => r.SubmitAtS) / 3600;
        var offered = jobs.Sum(j => j.Request.Gpus * j.RunMs / 3_600_000.0);
        var gpus = fifo.Gpus;
        var early = jobs.Count(j => j.EndsEarly);
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"### Trace replay: {source}"));
        o.WriteLine();
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{jobs.Count:N0} requests over {span:0.#} h ({early:N0} = {100.0 * early / Math.Max(1, jobs.Count):0}% end early; {jobs.Count(j => j.NodeCount > 1):N0} multinode; {rejected.Count} rejected as never placeable), " +
            $"fleet {nodesPerType} nodes × {gpusPerNode} GPUs{(types > 1 ? $" per GPU type ({types} types)" : "")} = {gpus:N0} GPUs; " +
            $"work actually used {offered:N0} GPU-h = {100 * offered / (gpus * Math.Max(span, 1)):0}% of the fleet over the submit window."));
        o.WriteLine();
        o.WriteLine("| metric | strict FIFO | backfill planner |");
        o.WriteLine("|---|---:|---:|");
        var a = Metrics.Of(fifo);
        var b = Metrics.Of(backfill);
        foreach (var (name, fa, fb) in Metrics.Rows(a, b))
        {
            o.WriteLine($"| {name} | {fa} | {fb} |");
        }

        o.WriteLine();
        o.Flush();
    }
}

internal sealed record Metrics(
    double UtilWindow, double UtilMakespan, double MakespanH,
    double MeanWait, double P50Wait, double P95Wait, double MaxWait,
    double MeanSmall, double MeanLarge, double P95Large, double MaxLarge, int LargeOver24, int LargeCount,
    double MeanMulti, double MaxMulti, int MultiCount,
    EtaError EtaAll, EtaError EtaClean, EtaError? LikelyAll,
    double PassMean, double PassMax, int Passes)
{
    public static Metrics Of(ReplayResult r)
    {
        const double hour = 3_600_000.0;
        var jobs = r.Jobs;
        var t0 = jobs.Count == 0 ? 0 : jobs.Min(j => j.SubmitMs);
        var makespan = jobs.Count == 0 ? 1 : jobs.Max(j => j.End) - t0;
        var used = jobs.Sum(j => (double)j.Request.Gpus * (j.End - j.Start));
        var window = jobs.Count == 0 ? 1 : Math.Max(1, jobs.Max(j => j.SubmitMs) - t0);
        var usedWindow = jobs.Sum(j => (double)j.Request.Gpus * Math.Max(0, Math.Min(j.End, t0 + window) - Math.Max(j.Start, t0)));
        List<double> Waits(IEnumerable<Job> js) => [.. js.Select(j => (j.Start - j.SubmitMs) / hour).Order()];
        var all = Waits(jobs);
        var small = Waits(jobs.Where(j => !j.Large));
        var large = Waits(jobs.Where(j => j.Large));
        var multi = Waits(jobs.Where(j => j.NodeCount > 1));
        var waited = jobs.Where(j => j.Eta is not null).ToList();
        return new Metrics(
            usedWindow / (r.Gpus * (double)window), used / (r.Gpus * (double)makespan), makespan / hour,
            Stats.Mean(all), Stats.Median(all), Stats.Percentile(all, 95), all.Count == 0 ? 0 : all[^1],
            Stats.Mean(small), Stats.Mean(large), Stats.Percentile(large, 95), large.Count == 0 ? 0 : large[^1], large.Count(w => w > 24), large.Count,
            Stats.Mean(multi), multi.Count == 0 ? 0 : multi[^1], multi.Count,
            EtaError.Of(waited, j => j.Eta), EtaError.Of([.. waited.Where(j => !j.EtaInvalidated)], j => j.Eta),
            r.Policy == Policy.Backfill ? EtaError.Of(waited, j => j.Likely) : null,
            Stats.Mean(r.PassMs), r.PassMs.Count == 0 ? 0 : r.PassMs.Max(), r.PassMs.Count);
    }

    public static IEnumerable<(string Name, string A, string B)> Rows(Metrics a, Metrics b)
    {
        static string H(double h) => double.IsNaN(h) ? "–" : string.Create(CultureInfo.InvariantCulture, $"{h:0.00} h");
        static string P(double x) => string.Create(CultureInfo.InvariantCulture, $"{100 * x:0.0}%");
        static string N(int n) => n.ToString("N0", CultureInfo.InvariantCulture);
        static string Ms(double ms) => string.Create(CultureInfo.InvariantCulture, $"{ms:0.00} ms");
        yield return ("GPU utilization, submit window (first → last submit)", P(a.UtilWindow), P(b.UtilWindow));
        yield return ("GPU utilization, until the last request ends", P(a.UtilMakespan), P(b.UtilMakespan));
        yield return ("makespan (first submit → last end)", H(a.MakespanH), H(b.MakespanH));
        yield return ("mean wait (start − submit), all", H(a.MeanWait), H(b.MeanWait));
        yield return ("median wait, all", H(a.P50Wait), H(b.P50Wait));
        yield return ("p95 wait, all", H(a.P95Wait), H(b.P95Wait));
        yield return ("max wait, all", H(a.MaxWait), H(b.MaxWait));
        yield return ("mean wait, 1–4 GPUs", H(a.MeanSmall), H(b.MeanSmall));
        yield return ($"mean wait, ≥ 8 GPUs (n = {N(a.LargeCount)})", H(a.MeanLarge), H(b.MeanLarge));
        yield return ("p95 wait, ≥ 8 GPUs", H(a.P95Large), H(b.P95Large));
        yield return ("max wait, ≥ 8 GPUs", H(a.MaxLarge), H(b.MaxLarge));
        yield return ("≥ 8 GPUs waiting > 24 h", N(a.LargeOver24), N(b.LargeOver24));
        yield return ($"mean / max wait, multinode (n = {N(a.MultiCount)})", $"{H(a.MeanMulti)} / {H(a.MaxMulti)}", $"{H(b.MeanMulti)} / {H(b.MaxMulti)}");
        yield return ("ETA error, all that waited: n", N(a.EtaAll.Count), N(b.EtaAll.Count));
        yield return ("  mean / p95 \\|actual − ETA\\|", $"{H(a.EtaAll.MeanAbs)} / {H(a.EtaAll.P95Abs)}", $"{H(b.EtaAll.MeanAbs)} / {H(b.EtaAll.P95Abs)}");
        yield return ("  started before / after ETA (> 1 min)", $"{N(a.EtaAll.Early)} / {N(a.EtaAll.Late)}", $"{N(b.EtaAll.Early)} / {N(b.EtaAll.Late)}");
        static string L(EtaError? e, Func<EtaError, string> f) => e is null ? "–" : f(e);
        yield return ("likely start error, all that waited: n", L(a.LikelyAll, e => N(e.Count)), L(b.LikelyAll, e => N(e.Count)));
        yield return ("  mean / p95 \\|actual − likely\\|", L(a.LikelyAll, e => $"{H(e.MeanAbs)} / {H(e.P95Abs)}"), L(b.LikelyAll, e => $"{H(e.MeanAbs)} / {H(e.P95Abs)}"));
        yield return ("  started before / after likely (> 1 min)", L(a.LikelyAll, e => $"{N(e.Early)} / {N(e.Late)}"), L(b.LikelyAll, e => $"{N(e.Early)} / {N(e.Late)}"));
        yield return ("  likely ÷ guaranteed mean error", "–", L(b.LikelyAll, e => string.Create(CultureInfo.InvariantCulture, $"{e.MeanAbs / b.EtaAll.MeanAbs:0.00}")));
        yield return ("ETA error, no early end while waiting: n", N(a.EtaClean.Count), N(b.EtaClean.Count));
        yield return ("  mean / p95 \\|actual − ETA\\|", $"{H(a.EtaClean.MeanAbs)} / {H(a.EtaClean.P95Abs)}", $"{H(b.EtaClean.MeanAbs)} / {H(b.EtaClean.P95Abs)}");
        yield return ("  started before / after ETA (> 1 min)", $"{N(a.EtaClean.Early)} / {N(a.EtaClean.Late)}", $"{N(b.EtaClean.Early)} / {N(b.EtaClean.Late)}");
        yield return ("planning passes: count / mean / max", $"{N(a.Passes)} / {Ms(a.PassMean)} / {Ms(a.PassMax)}", $"{N(b.Passes)} / {Ms(b.PassMean)} / {Ms(b.PassMax)}");
    }
}

/// <summary>|actual start − estimate| over requests that waited (and got a finite estimate at their first pass).</summary>
internal sealed record EtaError(int Count, double MeanAbs, double P95Abs, int Early, int Late, int Never)
{
    public static EtaError Of(List<Job> waited, Func<Job, long?> estimate)
    {
        const double hour = 3_600_000.0;
        var finite = waited.Select(j => (Job: j, At: estimate(j) ?? -1)).Where(x => x.At >= 0).ToList();
        var abs = finite.Select(x => Math.Abs(x.Job.Start - x.At) / hour).Order().ToList();
        return new EtaError(finite.Count, Stats.Mean(abs), Stats.Percentile(abs, 95),
            finite.Count(x => x.Job.Start < x.At - 60_000), finite.Count(x => x.Job.Start > x.At + 60_000), waited.Count - finite.Count);
    }
}

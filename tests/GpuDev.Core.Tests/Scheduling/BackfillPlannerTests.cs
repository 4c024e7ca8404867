using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;

namespace GpuDev.Core.Tests.Scheduling;

public sealed class BackfillPlannerTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    private static ComputeNode Node(string name, int gpus = 8, string type = "h100") => new(name, type, gpus, true);

    private static IEnumerable<GpuAllocation> Held(string node, string holder, params int[] indices) =>
        indices.Select(i => new GpuAllocation(node, i, holder));

    private static PlanRequest Request(string id, int gpus, double hours = 1, int nodes = 1, string type = "h100") =>
        new(id, type, gpus, nodes, TimeSpan.FromHours(hours));

    [Fact]
    public void Plan_NoNodeOfType_WaitsWithReason()
    {
        var plan = BackfillPlanner.Plan(s_now, [Node("n0")], [], new Dictionary<string, DateTimeOffset>(), [Request("r1", 1, type: "t4")]);

        var wait = Assert.Single(plan.Waits);
        Assert.Null(wait.EstimatedStartAt);
        Assert.Equal("no t4 node is online", wait.Reason);
    }

    [Fact]
    public void Plan_FitsNow_PicksTightestNodeAndLowestIndices()
    {
        var held = Held("n0", "a", 0, 1, 2, 3).ToList();

        var plan = BackfillPlanner.Plan(s_now, [Node("n0"), Node("n1")], held, new Dictionary<string, DateTimeOffset> { ["a"] = s_now.AddHours(1) }, [Request("r1", 2)]);

        var start = Assert.Single(plan.Starts);
        Assert.Equal("n0", start.Placement.Single().Node);
        Assert.Equal([4, 5], start.Placement.Single().GpuIndices);
        Assert.Empty(plan.Waits);
    }

    [Fact]
    public void Plan_Full_EtaIsEndOfHolderWithReason()
    {
        var held = Held("n0", "aaaaaaaa11", 0, 1, 2, 3, 4, 5, 6, 7).ToList();
        var end = s_now.AddHours(2);

        var plan = BackfillPlanner.Plan(s_now, [Node("n0")], held, new Dictionary<string, DateTimeOffset> { ["aaaaaaaa11"] = end }, [Request("r1", 4), Request("r2", 8)]);

        Assert.Empty(plan.Starts);
        Assert.Equal(end, plan.Waits[0].EstimatedStartAt);
        Assert.Equal(1, plan.Waits[0].Position);
        Assert.Equal($"no node has 4 free h100; largest free block is 0 on n0; 4 free at {end.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss}Z when aaaaaaaa ends on n0", plan.Waits[0].Reason);
        Assert.Equal(end.AddHours(1), plan.Waits[1].EstimatedStartAt);
        Assert.Equal(2, plan.Waits[1].Position);
        Assert.Contains("when r1 ends", plan.Waits[1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_SmallRequestBehindBigOne_BackfillsOnlyWhenItDelaysNoOne()
    {
        var held = Held("n0", "a", 0, 1, 2, 3, 4, 5, 6).ToList();
        var ends = new Dictionary<string, DateTimeOffset> { ["a"] = s_now.AddHours(2) };

        var plan = BackfillPlanner.Plan(s_now, [Node("n0")], held, ends, [Request("big", 8), Request("short", 1, hours: 1), Request("long", 1, hours: 3)]);

        Assert.Equal("short", Assert.Single(plan.Starts).ReservationId);
        Assert.Equal(s_now.AddHours(2), plan.Waits.Single(w => w.ReservationId == "big").EstimatedStartAt);
        Assert.Equal(s_now.AddHours(3), plan.Waits.Single(w => w.ReservationId == "long").EstimatedStartAt);
    }

    [Fact]
    public void Plan_Multinode_AllOrNothingOnWholeNodes()
    {
        var held = Held("n1", "a", 3).ToList();
        var ends = new Dictionary<string, DateTimeOffset> { ["a"] = s_now.AddMinutes(30) };

        var waiting = BackfillPlanner.Plan(s_now, [Node("n0"), Node("n1")], held, ends, [Request("mn", 16, nodes: 2)]);
        var starting = BackfillPlanner.Plan(s_now, [Node("n0"), Node("n1"), Node("n2")], held, ends, [Request("mn", 16, nodes: 2)]);

        Assert.Empty(waiting.Starts);
        Assert.Equal(s_now.AddMinutes(30), Assert.Single(waiting.Waits).EstimatedStartAt);
        var placement = Assert.Single(starting.Starts).Placement;
        Assert.Equal(["n0", "n2"], placement.Select(p => p.Node));
        Assert.Equal([0, 1], placement.Select(p => p.Rank));
        Assert.All(placement, p => Assert.Equal(Enumerable.Range(0, 8), p.GpuIndices));
    }

    [Fact]
    public void Plan_NodeLabels_OnlyOnNodesCarryingThem()
    {
        var nsight = new Dictionary<string, string> { ["nsight"] = "true" };
        ComputeNode[] nodes = [Node("n0"), Node("n1") with { Labels = nsight }];
        var ends = new Dictionary<string, DateTimeOffset> { ["x"] = s_now.AddHours(2) };

        var free = BackfillPlanner.Plan(s_now, nodes, [], ends, [new PlanRequest("p", "h100", 8, 1, TimeSpan.FromHours(1), nsight)]);
        var busy = BackfillPlanner.Plan(s_now, nodes, Held("n1", "x", 0).ToList(), ends, [new PlanRequest("p", "h100", 8, 1, TimeSpan.FromHours(1), nsight)]);
        var none = BackfillPlanner.Plan(s_now, [Node("n0")], [], ends, [new PlanRequest("p", "h100", 1, 1, TimeSpan.FromHours(1), nsight)]);

        Assert.Equal("n1", free.Starts.Single().Placement.Single().Node);
        Assert.Equal(s_now.AddHours(2), busy.Waits.Single().EstimatedStartAt);
        Assert.Null(none.Waits.Single().EstimatedStartAt);
        Assert.Equal("no h100 node with nsight=true is online", none.Waits.Single().Reason);
    }

    [Fact]
    public void Plan_TypesAreIndependent_PositionsPerType()
    {
        var plan = BackfillPlanner.Plan(s_now, [Node("n0", 1), Node("t0", 4, "t4")], Held("n0", "x", 0).ToList(),
            new Dictionary<string, DateTimeOffset> { ["x"] = s_now.AddHours(1) }, [Request("h", 1), Request("t", 4, type: "t4"), Request("h2", 1)]);

        Assert.Equal("t", Assert.Single(plan.Starts).ReservationId);
        Assert.Equal([1, 2], plan.Waits.Select(w => w.Position));
    }

    /// <summary>Random fleets, running work and queues, replayed with no early ends and no new arrivals:
    /// nodes are never over-allocated, and every request starts exactly at the ETA the first plan gave it
    /// (so no request was ever delayed by one behind it).</summary>
    [Fact]
    public void Plan_RandomScenarios_NoOverAllocationAndEtasExact()
    {
        for (var seed = 0; seed < 300; seed++)
        {
            var random = new Random(seed);
            var nodes = Enumerable.Range(0, random.Next(1, 5)).Select(i => Node($"n{i}", random.Next(2) == 0 ? 8 : 4)).ToList();
            var held = new List<GpuAllocation>();
            var ends = new Dictionary<string, DateTimeOffset>();
            foreach (var node in nodes)
            {
                var busy = random.Next(node.GpuCount + 1);
                if (busy > 0)
                {
                    var id = $"run-{node.Name}";
                    held.AddRange(Held(node.Name, id, [.. Enumerable.Range(0, busy)]));
                    ends[id] = s_now.AddMinutes(random.Next(1, 240));
                }
            }

            var queue = Enumerable.Range(0, random.Next(1, 12)).Select(i =>
            {
                var multinode = random.Next(8) == 0 && nodes.Count(n => n.GpuCount == 8) >= 2;
                return multinode
                    ? Request($"q{i}", 16, random.Next(1, 8) / 2.0, nodes: 2)
                    : Request($"q{i}", new[] { 1, 2, 4, 8 }[random.Next(4)], random.Next(1, 8) / 2.0);
            }).Where(r => r.NodeCount > 1 || nodes.Any(n => n.GpuCount >= r.GpuCount)).ToList();

            AssertReplayMatchesEtas(seed, nodes, held, ends, queue);
        }
    }

    private static void AssertReplayMatchesEtas(int seed, List<ComputeNode> nodes, List<GpuAllocation> held, Dictionary<string, DateTimeOffset> ends, List<PlanRequest> queue)
    {
        var now = s_now;
        var predicted = new Dictionary<string, DateTimeOffset?>();
        var actual = new Dictionary<string, DateTimeOffset>();
        var waiting = queue.ToList();
        for (var pass = 0; waiting.Count > 0; pass++)
        {
            Assert.True(pass < 500, $"seed {seed}: replay did not finish");
            var plan = BackfillPlanner.Plan(now, nodes, held, ends, waiting);
            if (pass == 0)
            {
                foreach (var start in plan.Starts)
                {
                    predicted[start.ReservationId] = now;
                }

                foreach (var wait in plan.Waits)
                {
                    predicted[wait.ReservationId] = wait.EstimatedStartAt;
                }
            }

            foreach (var start in plan.Starts)
            {
                var request = waiting.Single(r => r.ReservationId == start.ReservationId);
                foreach (var allocation in start.Placement)
                {
                    Assert.Equal(request.GpuCount / Math.Max(1, request.NodeCount), allocation.GpuIndices.Count);
                    held.AddRange(allocation.GpuIndices.Select(i => new GpuAllocation(allocation.Node, i, request.ReservationId)));
                }

                ends[request.ReservationId] = now + request.Duration;
                actual[request.ReservationId] = now;
                waiting.Remove(request);
            }

            foreach (var node in nodes)
            {
                var onNode = held.Where(a => a.Node == node.Name).ToList();
                Assert.True(onNode.Count <= node.GpuCount, $"seed {seed}: {node.Name} over-allocated");
                Assert.Equal(onNode.Count, onNode.Select(a => a.GpuIndex).Distinct().Count());
                Assert.All(onNode, a => Assert.InRange(a.GpuIndex, 0, node.GpuCount - 1));
            }

            var next = ends.Values.Where(e => e > now).DefaultIfEmpty(DateTimeOffset.MaxValue).Min();
            if (next == DateTimeOffset.MaxValue)
            {
                break;
            }

            now = next;
            held.RemoveAll(a => ends[a.ReservationId] <= now);
        }

        foreach (var request in queue)
        {
            Assert.True(predicted[request.ReservationId] == (actual.TryGetValue(request.ReservationId, out var a) ? a : null),
                $"seed {seed}: {request.ReservationId} predicted {predicted[request.ReservationId]:O}, started {(actual.TryGetValue(request.ReservationId, out var b) ? b.ToString("O") : "never")}");
        }
    }
}

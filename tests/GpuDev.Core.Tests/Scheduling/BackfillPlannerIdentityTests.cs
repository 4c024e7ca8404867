using CsCheck;
using GpuDev.Core.Compute;
using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;
using GpuDev.Core.Tests.Scheduling.Reference;

namespace GpuDev.Core.Tests.Scheduling;

/// <summary><see cref="BackfillPlanner"/> decides exactly what <see cref="BackfillPlannerV1"/> (the planner before it was
/// made to scale, kept as an oracle) decides, on random fleets large enough for the index to matter: every start with its
/// placement, every wait with its position, ETA and reason, in the same order.
/// <para>A case is drawn as a few numbers (seed, size, shares) and built from them deterministically, so that CsCheck
/// shrinks a failure to a smaller fleet and queue and prints it as those numbers. To replay it, set
/// <c>CsCheck_Seed</c> to the printed seed (see <see cref="BackfillPlannerPropertyTests"/>).</para></summary>
public sealed class BackfillPlannerIdentityTests
{
    /// <summary>Cases: a few seconds on the shared 2-core box (the reference planner is most of it; 600 cases passed there in 16 s).</summary>
    private const int Iterations = 30;

    private static readonly Dictionary<string, string> s_nsight = new(StringComparer.Ordinal) { ["nsight"] = "true" };

    private static readonly Dictionary<string, string> s_noNsight = new(StringComparer.Ordinal) { ["nsight"] = "false" };

    private static readonly Dictionary<string, string> s_zone = new(StringComparer.Ordinal) { ["zone"] = "b", ["nsight"] = "true" };

    private static readonly Gen<Fleet> s_fleet =
        from nodes in Gen.Int[2, 400]
        from requestsPerNode in Gen.Int[1, 6]
        from busyPercent in Gen.Int[0, 100]
        from labelledPercent in Gen.Int[0, 30]
        from gridPercent in Gen.Int[0, 100]
        from seed in Gen.Int
        select new Fleet(nodes, requestsPerNode, busyPercent, labelledPercent, gridPercent, seed);

    /// <summary>Field by field, in order: the same starts on the same GPUs, the same waits with the same positions, ETAs
    /// and reasons. Also checks, over all cases, that the fleets did exercise what the index could get wrong.</summary>
    [Fact]
    public void Plan_LargeRandomFleets_IdenticalToPreOptimizationPlanner()
    {
        var seen = new Coverage();
        s_fleet.Sample(fleet =>
        {
            var s = fleet.Build();

            var expected = BackfillPlannerV1.Plan(s.Now, s.Nodes, s.Held, s.EndsAt, s.Queue);
            var actual = BackfillPlanner.Plan(s.Now, s.Nodes, s.Held, s.EndsAt, s.Queue);

            AssertIdentical(expected, actual);
            seen.Add(s, expected);
        }, iter: Iterations, print: f => f.ToString());

        seen.AssertExercised();
    }

    /// <summary>Each start and each wait as one line, compared as lists: a failure shows the first line that differs.</summary>
    private static void AssertIdentical(Plan expected, Plan actual)
    {
        Assert.Equal(expected.Starts.Select(Show), actual.Starts.Select(Show));
        Assert.Equal(expected.Waits.Select(Show), actual.Waits.Select(Show));

        static string Show(object decision) => decision switch
        {
            PlannedStart s => $"{s.ReservationId} starts: " + string.Join("; ", s.Placement.Select(p => $"rank {p.Rank} on {p.Node} GPUs {string.Join(",", p.GpuIndices)}")),
            PlannedWait w => $"{w.ReservationId} waits #{w.Position} until {w.EstimatedStartAt:O}: {w.Reason}",
            _ => throw new ArgumentException("not a decision", nameof(decision)),
        };
    }

    /// <summary>What a fleet's plan contained, summed over the cases, so that a generator that stopped producing ties or
    /// multinode starts does not pass silently.</summary>
    private sealed class Coverage
    {
        private readonly Lock _lock = new();
        private int _starts;
        private int _multinodeStarts;
        private int _multinodeWaits;
        private int _labelledStarts;
        private int _labelledWaits;
        private int _never;
        private int _tiedEtas;

        public void Add(Scenario s, Plan plan)
        {
            var requests = s.Queue.ToDictionary(r => r.ReservationId);
            var etas = plan.Waits.Where(w => w.EstimatedStartAt is not null).GroupBy(w => w.EstimatedStartAt).Count(g => g.Count() > 1);
            lock (_lock)
            {
                _starts += plan.Starts.Count;
                _multinodeStarts += plan.Starts.Count(x => requests[x.ReservationId].NodeCount > 1);
                _labelledStarts += plan.Starts.Count(x => requests[x.ReservationId].NodeLabels is not null);
                _multinodeWaits += plan.Waits.Count(w => w.EstimatedStartAt is not null && requests[w.ReservationId].NodeCount > 1);
                _labelledWaits += plan.Waits.Count(w => w.EstimatedStartAt is not null && requests[w.ReservationId].NodeLabels is not null);
                _never += plan.Waits.Count(w => w.EstimatedStartAt is null);
                _tiedEtas += etas;
            }
        }

        public void AssertExercised()
        {
            Assert.True(_starts > 0, "no case started anything");
            Assert.True(_multinodeStarts > 0, "no case started a multinode request");
            Assert.True(_multinodeWaits > 0, "no case booked a waiting multinode request");
            Assert.True(_labelledStarts > 0, "no case started a labelled request");
            Assert.True(_labelledWaits > 0, "no case booked a waiting labelled request");
            Assert.True(_never > 0, "no case had a request that can never start");
            Assert.True(_tiedEtas > 0, "no case had two waits booked at the same instant");
        }
    }

    /// <summary>The numbers a case is built from (what CsCheck draws, shrinks and prints).</summary>
    /// <param name="GridPercent">Share of holder ends and request durations on a half-hour grid (ties at equal end
    /// times); the others are at arbitrary milliseconds, some at and beside powers of two (the index's classes).</param>
    private sealed record Fleet(int Nodes, int RequestsPerNode, int BusyPercent, int LabelledPercent, int GridPercent, int Seed)
    {
        private static readonly DateTimeOffset s_now = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero).AddMilliseconds(123);

        /// <summary>Mostly h100 nodes of 8 or 4 GPUs (mixed), some t4 × 4, the type sometimes in upper case; names not in
        /// list order; some nodes labelled. Holders take part of a node (or 2 whole nodes), and end on the grid, at an
        /// arbitrary time, an hour ago, now, or are missing from the ends. Requests: 1/2/4/8 GPUs (some more than any
        /// node has), 2 to 4 whole nodes of 4 or 8, some labelled (one label no node has), some for a type with no node.</summary>
        public Scenario Build()
        {
            var rng = new Random(Seed);
            var nodes = new List<ComputeNode>();
            for (var i = 0; i < Nodes; i++)
            {
                var t4 = rng.Next(100) < 15;
                var type = t4 ? "t4" : rng.Next(10) == 0 ? "H100" : "h100";
                var gpus = t4 || rng.Next(100) < 30 ? 4 : 8;
                var labels = rng.Next(100) < LabelledPercent ? (rng.Next(3) == 0 ? s_noNsight : s_nsight) : null;
                nodes.Add(new ComputeNode($"{(char)('a' + rng.Next(26))}{rng.Next(1000):D3}-{i}", type, gpus, true, labels));
            }

            var held = new List<GpuAllocation>();
            var ends = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            var holders = 0;
            string Holder()
            {
                var id = $"holder{holders++:D5}";
                var end = rng.Next(100) switch
                {
                    < 10 => (DateTimeOffset?)null,
                    < 18 => s_now.AddHours(-1),
                    < 22 => s_now,
                    _ => s_now + Duration(rng, maxHours: 12),
                };
                if (end is { } e)
                {
                    ends[id] = e;
                }

                return id;
            }

            for (var i = 0; i < nodes.Count; i++)
            {
                var node = nodes[i];
                if (rng.Next(100) < 3 && i + 1 < nodes.Count && nodes[i + 1].GpuCount == node.GpuCount)
                {
                    var id = Holder();
                    held.AddRange(Enumerable.Range(0, node.GpuCount).Select(g => new GpuAllocation(node.Name, g, id)));
                    held.AddRange(Enumerable.Range(0, node.GpuCount).Select(g => new GpuAllocation(nodes[i + 1].Name, g, id)));
                    i++;
                    continue;
                }

                var gpu = 0;
                while (gpu < node.GpuCount && rng.Next(100) < BusyPercent)
                {
                    var size = Math.Min(node.GpuCount - gpu, 1 << rng.Next(4));
                    var id = Holder();
                    held.AddRange(Enumerable.Range(gpu, size).Select(g => new GpuAllocation(node.Name, g, id)));
                    gpu += size;
                }
            }

            var queue = new List<PlanRequest>();
            for (var i = 0; i < Nodes * RequestsPerNode; i++)
            {
                var type = rng.Next(100) switch { < 80 => "h100", < 95 => "t4", < 98 => "H100", _ => "a100" };
                var labels = rng.Next(100) < LabelledPercent ? rng.Next(4) switch { 0 => s_noNsight, 1 => s_zone, _ => s_nsight } : null;
                var duration = Duration(rng, maxHours: 24);
                if (rng.Next(100) < 5)
                {
                    var count = rng.Next(2, 5);
                    queue.Add(new PlanRequest($"r{i:D5}", type, count * (rng.Next(3) == 0 ? 4 : 8), count, duration, labels));
                }
                else
                {
                    var gpus = rng.Next(100) < 2 ? 16 : 1 << rng.Next(4);
                    queue.Add(new PlanRequest($"r{i:D5}", type, gpus, 1, duration, labels));
                }
            }

            return new Scenario(s_now, nodes, held, ends, queue);
        }

        /// <summary>On the half-hour grid (<see cref="GridPercent"/>), or at an arbitrary millisecond, or at or beside a
        /// power of two milliseconds (half an hour to a day).</summary>
        private TimeSpan Duration(Random rng, int maxHours)
        {
            if (rng.Next(100) < GridPercent)
            {
                return TimeSpan.FromMinutes(30 * rng.Next(1, (2 * maxHours) + 1));
            }

            return rng.Next(4) == 0
                ? TimeSpan.FromMilliseconds((1L << rng.Next(21, 27)) + rng.Next(-1, 2))
                : TimeSpan.FromMilliseconds(rng.NextInt64(60_000, maxHours * 3_600_000L));
        }
    }

    private sealed record Scenario(DateTimeOffset Now, IReadOnlyList<ComputeNode> Nodes, IReadOnlyList<GpuAllocation> Held,
        IReadOnlyDictionary<string, DateTimeOffset> EndsAt, IReadOnlyList<PlanRequest> Queue);
}

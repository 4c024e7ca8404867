using GpuDev.Core.Compute;
using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;

namespace GpuDev.Core.Tests.Scheduling;

public sealed class LikelyStartsTests
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private static readonly ComputeNode[] s_node = [new("n0", "h100", 8, true)];

    private static List<GpuAllocation> Held(string holder, int gpus) => [.. Enumerable.Range(0, gpus).Select(i => new GpuAllocation("n0", i, holder))];

    private static PlanRequest Request(string id, int gpus, double hours) => new(id, "h100", gpus, 1, TimeSpan.FromHours(hours));

    private static Dictionary<string, DateTimeOffset> Ends(string holder, double hours) => new() { [holder] = s_now.AddHours(hours) };

    [Fact]
    public void Plan_HolderLikelyEndsEarly_WaitersLikelyStartEarlierInQueueOrder()
    {
        var held = Held("a", 8);
        List<PlanRequest> queue = [Request("r1", 8, 4), Request("r2", 8, 4)];
        var guaranteed = BackfillPlanner.Plan(s_now, s_node, held, Ends("a", 4), queue);

        // The holder likely ends after 1 h and r1 likely runs 2 h of its 4.
        var likely = LikelyStarts.Plan(s_now, s_node, held, Ends("a", 1), [Request("r1", 8, 2), Request("r2", 8, 4)], guaranteed);

        Assert.Equal(s_now.AddHours(4), guaranteed.Waits[0].EstimatedStartAt);
        Assert.Equal(s_now.AddHours(8), guaranteed.Waits[1].EstimatedStartAt);
        Assert.Equal(s_now.AddHours(1), likely["r1"]);
        Assert.Equal(s_now.AddHours(3), likely["r2"]);
    }

    [Fact]
    public void Plan_LikelyPlanLaterThanPromised_KeepsThePromise()
    {
        var held = Held("a", 8);
        List<PlanRequest> queue = [Request("r1", 8, 4)];
        var guaranteed = BackfillPlanner.Plan(s_now, s_node, held, Ends("a", 2), queue);

        var likely = LikelyStarts.Plan(s_now, s_node, held, Ends("a", 3), queue, guaranteed);

        Assert.Equal(s_now.AddHours(2), likely["r1"]);
    }

    [Fact]
    public void Plan_LikelyFitsNowButRealPlanWaits_NotNowButWhenAGpuLikelyFrees()
    {
        // Half the node is held for 4 h. r1 needs the whole node at 4 h; r2 (4 GPUs, booked 10 h) cannot backfill now
        // without delaying r1, but its likely 3 h would fit now: it still only starts when the real plan lets it.
        var held = Held("a", 4);
        List<PlanRequest> queue = [Request("r1", 8, 1), Request("r2", 4, 10)];
        var guaranteed = BackfillPlanner.Plan(s_now, s_node, held, Ends("a", 4), queue);
        Assert.Empty(guaranteed.Starts);

        var likely = LikelyStarts.Plan(s_now, s_node, held, Ends("a", 4), [Request("r1", 8, 1), Request("r2", 4, 3)], guaranteed);

        Assert.Equal(s_now.AddHours(4), likely["r2"]);
        Assert.True(likely["r2"] <= guaranteed.Waits.Single(w => w.ReservationId == "r2").EstimatedStartAt);
    }

    [Fact]
    public void Plan_NoEstimate_NoLikelyStart()
    {
        var guaranteed = BackfillPlanner.Plan(s_now, s_node, [], new Dictionary<string, DateTimeOffset>(), [Request("big", 16, 1)]);

        var likely = LikelyStarts.Plan(s_now, s_node, [], new Dictionary<string, DateTimeOffset>(), [Request("big", 16, 1)], guaranteed);

        Assert.Empty(likely);
    }
}

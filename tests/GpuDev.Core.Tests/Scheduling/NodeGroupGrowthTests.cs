using GpuDev.Core.Compute;
using GpuDev.Core.Scheduling;

namespace GpuDev.Core.Tests.Scheduling;

public sealed class NodeGroupGrowthTests
{
    private static readonly Dictionary<string, string> s_none = [];

    private static ComputeNode Node(string name, int gpus = 8, string type = "h100", Dictionary<string, string>? labels = null) => new(name, type, gpus, false, labels);

    private static NodeGroup Group(string name, int current, int max, int gpus = 8, string type = "h100", Dictionary<string, string>? labels = null) =>
        new(name, type, gpus, max, current, labels ?? new Dictionary<string, string> { ["eks.amazonaws.com/nodegroup"] = name });

    [Fact]
    public void For_MultinodeOnOneNode_GroupCanGrowToThree_NeedsOneNewNode()
    {
        var growth = NodeGroupGrowth.For("h100", 16, 2, s_none, [Node("gpu-0")], [Group("h100-group", 1, 3)]);

        Assert.NotNull(growth);
        Assert.True(growth.CanStart);
        Assert.Equal((1, 1), (growth.NodesNeeded, growth.NodesInFleet));
        Assert.Equal([("h100-group", 1)], growth.Take.Select(t => (t.Group.Name, t.Nodes)));
        Assert.Equal("waiting for a new h100 node (2 whole nodes needed, 1 in the fleet); the node group can grow to 3 (h100-group, 1 now); start unknown until it joins",
            growth.WaitReason("h100", 2, s_none));
    }

    [Fact]
    public void For_OverTheGroupsMaximum_CannotStart_RefusalNamesTheMax()
    {
        var growth = NodeGroupGrowth.For("h100", 32, 4, s_none, [Node("gpu-0")], [Group("h100-group", 1, 3)]);

        Assert.NotNull(growth);
        Assert.False(growth.CanStart);
        Assert.Equal("32 h100 GPUs need 4 nodes of 8 GPUs; this site has 1, and the node group can grow to 3 (h100-group, 1 now).", growth.RefusalText("h100", 32, 4, s_none));
    }

    [Fact]
    public void For_TwoGroups_TakesFromTheFirstUpToItsMax_ThenTheNext()
    {
        var growth = NodeGroupGrowth.For("h100", 32, 4, s_none, [], [Group("a", 1, 2), Group("b", 0, 5)]);

        Assert.NotNull(growth);
        Assert.True(growth.CanStart);
        Assert.Equal([("a", 1), ("b", 3)], growth.Take.Select(t => (t.Group.Name, t.Nodes)));
        Assert.Equal("waiting for 4 new h100 nodes (4 whole nodes needed, 0 in the fleet); the node groups can grow to 7 (a: 1 of 2, b: 0 of 5); start unknown until they join",
            growth.WaitReason("h100", 4, s_none));
    }

    [Fact]
    public void For_TodaysNodesCanHoldIt_OrNoGroupHasItsShape_IsNull()
    {
        Assert.Null(NodeGroupGrowth.For("h100", 16, 2, s_none, [Node("gpu-0"), Node("gpu-1")], [Group("g", 2, 3)]));
        Assert.Null(NodeGroupGrowth.For("h100", 8, 1, s_none, [Node("gpu-0", gpus: 8)], [Group("g", 1, 3)]));
        Assert.Null(NodeGroupGrowth.For("h100", 32, 2, s_none, [], [Group("g", 0, 3, gpus: 8)]));
        Assert.Null(NodeGroupGrowth.For("a100", 8, 1, s_none, [], [Group("g", 0, 3)]));
    }

    [Fact]
    public void For_NodeLabels_OnlyGroupsWhoseNewNodesCarryThem()
    {
        var wanted = new Dictionary<string, string> { ["nsight"] = "true" };
        var plain = Group("plain", 0, 3);
        var profiling = Group("profiling", 0, 1, labels: new Dictionary<string, string> { ["nsight"] = "true", ["eks.amazonaws.com/nodegroup"] = "profiling" });

        var growth = NodeGroupGrowth.For("h100", 8, 1, wanted, [Node("gpu-0")], [plain, profiling]);

        Assert.NotNull(growth);
        Assert.Equal([("profiling", 1)], growth.Take.Select(t => (t.Group.Name, t.Nodes)));
        Assert.StartsWith("waiting for a new h100 node with nsight=true; the node group can grow to 1 (profiling, 0 now)", growth.WaitReason("h100", 1, wanted), StringComparison.Ordinal);
    }
}

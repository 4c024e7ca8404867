using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using GpuDev.Testing;
using k8s;
using k8s.Models;

namespace GpuDev.Compute.Kubernetes.Tests;

/// <summary>Node groups and the placeholder pods that show the autoscaler a request waiting for new nodes, against the fake
/// API server (its scheduler leaves a pod no node can hold Pending/Unschedulable and binds it when a node joins).</summary>
public sealed class NodeGroupsTests
{
    private const string Ns = "gpu-dev";
    private const string EksGroup = "eks.amazonaws.com/nodegroup";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewId() => Guid.NewGuid().ToString("N");

    private static Task<FakeClusterFixture> StartAsync(int maxNodes = 3) => FakeClusterFixture.StartAsync(o =>
    {
        o.NodeGroups =
        [
            new NodeGroupOptions { Name = "h100-group", GpuType = "h100", GpusPerNode = 8, MaxNodes = maxNodes },
            new NodeGroupOptions
            {
                Name = "h100-spot", GpuType = "h100", GpusPerNode = 8, MaxNodes = 2, Selector = "karpenter.sh/nodepool=h100-spot",
                Labels = new Dictionary<string, string> { ["gpu-dev.io/capacity"] = "spot" },
            },
        ];
    }, nodes: 0);

    private static async Task<List<V1Pod>> PlaceholdersAsync(FakeClusterFixture cluster, string? id = null) =>
        [.. (await cluster.Client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: id is null ? "gpu-dev.io/role=demand" : $"gpu-dev.io/role=demand,gpu-dev.io/reservation={id}",
            cancellationToken: Ct)).Items.OrderBy(p => p.Metadata.Name, StringComparer.Ordinal)];

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(what);
            }

            await Task.Delay(20, Ct);
        }
    }

    [Fact]
    public async Task ListNodeGroups_CountsEachGroupsNodesBySelector_ReadyOrNot()
    {
        await using var cluster = await StartAsync();
        cluster.Server.AddNode("a-1", 8, new Dictionary<string, string> { [EksGroup] = "h100-group" });
        cluster.Server.AddNode("a-2", 8, new Dictionary<string, string> { [EksGroup] = "h100-group" });
        cluster.Server.SetNodeReady("a-2", false);
        cluster.Server.AddNode("k-1", 8, new Dictionary<string, string> { ["karpenter.sh/nodepool"] = "h100-spot" });
        cluster.Server.AddNode("other", 8);

        var groups = await cluster.Provider.ListNodeGroupsAsync(Ct);

        Assert.Equal([("h100-group", 2, 3, 1), ("h100-spot", 1, 2, 1)], groups.Select(g => (g.Name, g.CurrentNodes, g.MaxNodes, g.Headroom)));
        Assert.Equal("h100-group", groups[0].Labels[EksGroup]);
        Assert.Equal("spot", groups[1].Labels["gpu-dev.io/capacity"]);
        Assert.Equal("h100-spot", groups[1].Labels["karpenter.sh/nodepool"]);
    }

    [Fact]
    public async Task ReconcileDemand_CreatesPlaceholdersOnceThatAvoidTodaysNodes_ShrinksAndDeletesThemWithTheDemand()
    {
        await using var cluster = await StartAsync();
        cluster.Server.AddNode("a-1", 8, new Dictionary<string, string> { [EksGroup] = "h100-group" });
        var (id, other) = (NewId(), NewId());
        NodeDemand[] demand =
        [
            new(id, "h100-group", 2, 8, new Dictionary<string, string>()),
            new(other, "h100-spot", 1, 4, new Dictionary<string, string> { ["gpu-dev.io/capacity"] = "spot" }),
        ];
        await cluster.Provider.ReconcileDemandAsync(demand, Ct);
        await cluster.Provider.ReconcileDemandAsync(demand, Ct);

        var pods = await PlaceholdersAsync(cluster, id);
        Assert.Equal([$"gpudev-{id}-demand-0", $"gpudev-{id}-demand-1"], pods.Select(p => p.Metadata.Name));
        var pod = pods[0];
        Assert.Equal("8", pod.Spec.Containers[0].Resources.Requests["nvidia.com/gpu"].ToString());
        Assert.Equal(new Dictionary<string, string> { [EksGroup] = "h100-group" }, pod.Spec.NodeSelector);
        var notOn = Assert.Single(Assert.Single(pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms).MatchExpressions);
        Assert.Equal(("kubernetes.io/hostname", "NotIn", "a-1"), (notOn.Key, notOn.OperatorProperty, string.Join(",", notOn.Values)));
        Assert.Contains(pod.Spec.Tolerations, t => t.Key == "nvidia.com/gpu" && t.OperatorProperty == "Exists");
        Assert.Equal("gpu-dev", pod.Metadata.Labels["app.kubernetes.io/managed-by"]);
        Assert.Equal("h100-group", pod.Metadata.Labels["gpu-dev.io/node-group"]);
        Assert.False(pod.Spec.AutomountServiceAccountToken);
        var spot = Assert.Single(await PlaceholdersAsync(cluster, other));
        Assert.Equal(new Dictionary<string, string> { ["gpu-dev.io/capacity"] = "spot", ["karpenter.sh/nodepool"] = "h100-spot" }, spot.Spec.NodeSelector);
        Assert.Equal("4", spot.Spec.Containers[0].Resources.Limits["nvidia.com/gpu"].ToString());
        // a-1 is free but counted already: the placeholders ask for new nodes only.
        await EventuallyAsync(async () => (await PlaceholdersAsync(cluster)).All(p =>
            p.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Status == "False" && c.Reason == "Unschedulable") == true), "the placeholders to be unschedulable");

        await cluster.Provider.ReconcileDemandAsync([demand[0] with { Nodes = 1 }], Ct);

        Assert.Equal([$"gpudev-{id}-demand-0"], (await PlaceholdersAsync(cluster)).Select(p => p.Metadata.Name));

        await cluster.Provider.ReconcileDemandAsync([], Ct);

        Assert.Empty(await PlaceholdersAsync(cluster));
    }

    [Fact]
    public async Task Placeholder_GetsTheNewNode_ThenIsReplacedByOneAvoidingIt_AndDeletedBeforeTheEnvironmentsPods()
    {
        await using var cluster = await StartAsync();
        var id = NewId();
        await cluster.Provider.ReconcileDemandAsync([new NodeDemand(id, "h100-group", 1, 8, new Dictionary<string, string>())], Ct);
        Assert.Single(await PlaceholdersAsync(cluster, id));

        cluster.Server.AddNode("gpu-0", 8, new Dictionary<string, string> { [EksGroup] = "h100-group" });
        await EventuallyAsync(async () => (await PlaceholdersAsync(cluster, id)).SingleOrDefault()?.Spec.NodeName == "gpu-0", "the placeholder to get the new node");
        var nodes = await cluster.Provider.DiscoverNodesAsync(Ct);

        Assert.Equal(8, Assert.Single(nodes).GpuCount);

        await cluster.Provider.ReconcileDemandAsync([new NodeDemand(id, "h100-group", 1, 8, new Dictionary<string, string>())], Ct);

        var again = Assert.Single(await PlaceholdersAsync(cluster, id));
        Assert.Equal($"gpudev-{id}-demand-1", again.Metadata.Name);
        Assert.Null(again.Spec.NodeName);
        Assert.Equal(["gpu-0"], again.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values);

        var status = await cluster.Provider.EnsureEnvironmentAsync(new EnvironmentSpec
        {
            ReservationId = id,
            Owner = "alice",
            AuthorizedKeys = [TestKeys.Ed25519],
            GpuType = "h100",
            Allocations = [new NodeAllocation(0, "gpu-0", [.. Enumerable.Range(0, 8)])],
            Options = EnvironmentOptions.None,
        }, Ct);

        Assert.Empty(await PlaceholdersAsync(cluster, id));
        Assert.NotEqual(EnvironmentState.Failed, status.State);
        await EventuallyAsync(async () => (await cluster.Client.CoreV1.ReadNamespacedPodAsync($"gpudev-{id}-0", Ns, cancellationToken: Ct)).Spec.NodeName == "gpu-0",
            "the environment's pod to be scheduled on the node the placeholder held");
        await cluster.Provider.RemoveEnvironmentAsync(id, Ct);
    }

    [Fact]
    public async Task RemoveEnvironment_DeletesTheReservationsPlaceholders_AndListEnvironmentsFindsThem()
    {
        await using var cluster = await StartAsync();
        var id = NewId();
        await cluster.Provider.ReconcileDemandAsync([new NodeDemand(id, "h100-group", 2, 8, new Dictionary<string, string>())], Ct);

        Assert.Contains(id, await cluster.Provider.ListEnvironmentsAsync(Ct));
        Assert.Equal(EnvironmentState.Absent, (await cluster.Provider.GetEnvironmentAsync(id, Ct)).State);

        await cluster.Provider.RemoveEnvironmentAsync(id, Ct);

        Assert.Empty(await PlaceholdersAsync(cluster, id));
    }

    [Fact]
    public void Options_Validator_NamesEveryBrokenNodeGroup()
    {
        var options = new KubernetesOptions
        {
            NodeGroups =
            [
                new NodeGroupOptions { Name = "ok", GpuType = "h100", GpusPerNode = 8, MaxNodes = 3 },
                new NodeGroupOptions { Name = "ok", GpuType = "h100", GpusPerNode = 8, MaxNodes = 3 },
                new NodeGroupOptions { Name = "bad name!", GpuType = "h900", GpusPerNode = 0, MaxNodes = 0, Selector = "karpenter.sh/nodepool", Labels = new() { ["x"] = "a b" } },
            ],
        };

        var result = new KubernetesOptionsValidator(GpuCatalog.Default).Validate(null, options);

        Assert.Equal(
        [
            "Kubernetes:NodeGroups:1:Name 'ok' is used by another node group.",
            "Kubernetes:NodeGroups:2:Name 'bad name!' must be 1-63 of [A-Za-z0-9._-], starting and ending with a letter or digit (the node group's name).",
            $"Kubernetes:NodeGroups:2:GpuType 'h900' is not a GPU type of the catalog; known: {string.Join(", ", GpuCatalog.Default.Types.Select(t => t.Name))}.",
            "Kubernetes:NodeGroups:2:GpusPerNode must be at least 1; got 0.",
            "Kubernetes:NodeGroups:2:MaxNodes must be at least 1; got 0.",
            "Kubernetes:NodeGroups:2:Selector 'karpenter.sh/nodepool' must be label=value pairs separated by commas (e.g. karpenter.sh/nodepool=bad name!).",
            "Kubernetes:NodeGroups:2:Labels 'x=a b' is not a valid Kubernetes label.",
        ], result.Failures);
    }

    [Fact]
    public void Options_Validator_AcceptsGroupsWithDefaultOrKarpenterSelectors()
    {
        var options = new KubernetesOptions
        {
            NodeGroups =
            [
                new NodeGroupOptions { Name = "h100-group", GpuType = "h100", GpusPerNode = 8, MaxNodes = 3 },
                new NodeGroupOptions { Name = "gpu", GpuType = "a100", GpusPerNode = 8, MaxNodes = 2, Selector = "karpenter.sh/nodepool=gpu, topology.kubernetes.io/zone=us-east-1a" },
            ],
        };

        Assert.True(new KubernetesOptionsValidator(GpuCatalog.Default).Validate(null, options).Succeeded);
    }
}

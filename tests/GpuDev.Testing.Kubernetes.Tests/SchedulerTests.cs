using k8s;
using k8s.Models;
using static GpuDev.Testing.Kubernetes.Tests.TestSupport;

namespace GpuDev.Testing.Kubernetes.Tests;

public sealed class SchedulerTests
{
    private static bool Unschedulable(V1Pod p) =>
        p.Status?.Conditions?.Any(c => c.Type == "PodScheduled" && c.Status == "False" && c.Reason == "Unschedulable") == true;

    [Fact]
    public async Task Gpu_capacity_is_respected_and_a_pending_pod_is_scheduled_when_capacity_frees()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        for (var i = 1; i <= 4; i++)
        {
            server.AddNode($"gpu-{i}", 8);
        }

        var client = server.Client();
        for (var i = 1; i <= 4; i++)
        {
            await client.CoreV1.CreateNamespacedPodAsync(Pod($"big-{i}", gpus: 8), Ns, cancellationToken: Ct);
        }

        for (var i = 1; i <= 4; i++)
        {
            await client.WaitPodAsync($"big-{i}", IsRunning, "running");
        }

        await client.CoreV1.CreateNamespacedPodAsync(Pod("big-5", gpus: 8), Ns, cancellationToken: Ct);
        var pending = await client.WaitPodAsync("big-5", Unschedulable, "unschedulable");
        Assert.Equal("Pending", pending.Status.Phase);
        Assert.Null(pending.Spec.NodeName);
        var condition = pending.Status.Conditions.Single(c => c.Type == "PodScheduled");
        Assert.Equal("0/4 nodes are available: 4 Insufficient nvidia.com/gpu.", condition.Message);

        var events = await client.CoreV1.ListNamespacedEventAsync(Ns, fieldSelector: "involvedObject.name=big-5", cancellationToken: Ct);
        var failed = Assert.Single(events.Items, e => e.Reason == "FailedScheduling");
        Assert.Equal("Warning", failed.Type);
        Assert.Equal(condition.Message, failed.Message);
        Assert.Equal("Pod", failed.InvolvedObject.Kind);
        Assert.Equal(pending.Metadata.Uid, failed.InvolvedObject.Uid);
        Assert.Equal(1, failed.Count);
        Assert.NotNull(failed.FirstTimestamp);

        var running = await client.CoreV1.ReadNamespacedPodAsync("big-2", Ns, cancellationToken: Ct);
        await client.CoreV1.DeleteNamespacedPodAsync("big-2", Ns, cancellationToken: Ct);
        var scheduled = await client.WaitPodAsync("big-5", IsRunning, "running after capacity freed");
        Assert.Equal(running.Spec.NodeName, scheduled.Spec.NodeName);
        Assert.Equal("127.0.0.1", scheduled.Status.HostIP);
        Assert.StartsWith("10.", scheduled.Status.PodIP, StringComparison.Ordinal);
        Assert.True(scheduled.Status.ContainerStatuses.Single().Ready);
        Assert.NotNull(scheduled.Status.ContainerStatuses.Single().State.Running);
        Assert.Contains(scheduled.Status.Conditions, c => c.Type == "Ready" && c.Status == "True");
    }

    [Fact]
    public async Task Node_selector_required_affinity_and_taints_decide_the_node()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        server.AddNode("h100", 8, new Dictionary<string, string> { ["gpu-type"] = "h100" });
        server.AddNode("a100", 8, new Dictionary<string, string> { ["gpu-type"] = "a100" }, instanceType: "p4d.24xlarge");
        server.AddNode("tainted", 8, new Dictionary<string, string> { ["gpu-type"] = "t4" }, taints: [("dedicated", "ml", "NoSchedule")]);
        var client = server.Client();

        var bySelector = Pod("sel", gpus: 1);
        bySelector.Spec.NodeSelector = new Dictionary<string, string> { ["node.kubernetes.io/instance-type"] = "p4d.24xlarge" };
        await client.CoreV1.CreateNamespacedPodAsync(bySelector, Ns, cancellationToken: Ct);
        Assert.Equal("a100", (await client.WaitPodAsync("sel", IsRunning, "running")).Spec.NodeName);

        V1Affinity Affinity(params V1NodeSelectorRequirement[] exprs) => new()
        {
            NodeAffinity = new V1NodeAffinity
            {
                RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector { NodeSelectorTerms = [new V1NodeSelectorTerm { MatchExpressions = exprs }] },
            },
        };

        var byIn = Pod("aff-in", gpus: 1);
        byIn.Spec.Affinity = Affinity(new V1NodeSelectorRequirement { Key = "gpu-type", OperatorProperty = "In", Values = ["h100", "t4"] });
        await client.CoreV1.CreateNamespacedPodAsync(byIn, Ns, cancellationToken: Ct);
        Assert.Equal("h100", (await client.WaitPodAsync("aff-in", IsRunning, "running")).Spec.NodeName);

        var byNotIn = Pod("aff-notin", gpus: 1);
        byNotIn.Spec.Affinity = Affinity(new V1NodeSelectorRequirement { Key = "gpu-type", OperatorProperty = "NotIn", Values = ["h100"] }, new V1NodeSelectorRequirement { Key = "nvidia.com/gpu.present", OperatorProperty = "Exists" });
        await client.CoreV1.CreateNamespacedPodAsync(byNotIn, Ns, cancellationToken: Ct);
        Assert.Equal("a100", (await client.WaitPodAsync("aff-notin", IsRunning, "running")).Spec.NodeName);

        var impossible = Pod("aff-none", gpus: 1);
        impossible.Spec.Affinity = Affinity(new V1NodeSelectorRequirement { Key = "gpu-type", OperatorProperty = "DoesNotExist" });
        await client.CoreV1.CreateNamespacedPodAsync(impossible, Ns, cancellationToken: Ct);
        var stuck = await client.WaitPodAsync("aff-none", Unschedulable, "unschedulable");
        Assert.Equal("0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: ml}, 2 node(s) didn't match Pod's node affinity/selector.",
            stuck.Status.Conditions.Single(c => c.Type == "PodScheduled").Message);

        var onT4 = Pod("t4", gpus: 1);
        onT4.Spec.NodeSelector = new Dictionary<string, string> { ["gpu-type"] = "t4" };
        await client.CoreV1.CreateNamespacedPodAsync(onT4, Ns, cancellationToken: Ct);
        await client.WaitPodAsync("t4", Unschedulable, "unschedulable without toleration");

        var tolerating = Pod("t4-ok", gpus: 1);
        tolerating.Spec.NodeSelector = new Dictionary<string, string> { ["gpu-type"] = "t4" };
        tolerating.Spec.Tolerations = [new V1Toleration { Key = "dedicated", OperatorProperty = "Equal", Value = "ml", Effect = "NoSchedule" }];
        await client.CoreV1.CreateNamespacedPodAsync(tolerating, Ns, cancellationToken: Ct);
        Assert.Equal("tainted", (await client.WaitPodAsync("t4-ok", IsRunning, "running")).Spec.NodeName);
    }

    [Fact]
    public async Task Cordoned_and_not_ready_nodes_get_no_pods_until_they_come_back()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        server.AddNode("a", 8);
        server.AddNode("b", 8);
        server.CordonNode("a", true);
        server.SetNodeReady("b", false);
        var client = server.Client();

        var node = await client.CoreV1.ReadNodeAsync("a", cancellationToken: Ct);
        Assert.True(node.Spec.Unschedulable);
        Assert.Contains(node.Spec.Taints, t => t.Key == "node.kubernetes.io/unschedulable");

        await client.CoreV1.CreateNamespacedPodAsync(Pod("p", gpus: 1), Ns, cancellationToken: Ct);
        var stuck = await client.WaitPodAsync("p", Unschedulable, "unschedulable");
        Assert.Equal("0/2 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) were unschedulable.",
            stuck.Status.Conditions.Single(c => c.Type == "PodScheduled").Message);

        server.CordonNode("a", false);
        Assert.Equal("a", (await client.WaitPodAsync("p", IsRunning, "running after uncordon")).Spec.NodeName);

        static bool Ready(V1Pod p) => p.Status.Conditions.Any(c => c.Type == "Ready" && c.Status == "True");
        server.SetNodeReady("a", false);
        Assert.False(Ready(await client.CoreV1.ReadNamespacedPodAsync("p", Ns, cancellationToken: Ct)));
        Assert.Equal("False", (await client.CoreV1.ReadNodeAsync("a", cancellationToken: Ct)).Status.Conditions.Single(c => c.Type == "Ready").Status);
        server.SetNodeReady("a", true);
        Assert.True(Ready(await client.CoreV1.ReadNamespacedPodAsync("p", Ns, cancellationToken: Ct)));
    }

    [Fact]
    public async Task Nodes_report_capacity_labels_addresses_and_efa_is_scheduled_like_gpus()
    {
        await using var server = await FakeKubernetesServer.StartAsync(new FakeClusterOptions { NodeIp = "127.0.0.1" }, Ct);
        var added = server.AddNode("efa-node", 8, efa: 32);
        server.AddNode("cpu-node", 0, instanceType: "m5.large", cpu: 2, memory: "8Gi");
        var client = server.Client();
        Assert.Equal(8, added.Gpus);
        Assert.Equal(2, server.Nodes.Count);

        var node = await client.CoreV1.ReadNodeAsync("efa-node", cancellationToken: Ct);
        Assert.Equal("8", node.Status.Allocatable["nvidia.com/gpu"].ToString());
        Assert.Equal("32", node.Status.Capacity["vpc.amazonaws.com/efa"].ToString());
        Assert.Equal("192", node.Status.Capacity["cpu"].ToString());
        Assert.Equal("2048Gi", server.Get("nodes", null, "efa-node")!["status"]!["capacity"]!["memory"]!.GetValue<string>());
        Assert.Equal("efa-node", node.Metadata.Labels["kubernetes.io/hostname"]);
        Assert.Equal("p5.48xlarge", node.Metadata.Labels["node.kubernetes.io/instance-type"]);
        Assert.Equal("true", node.Metadata.Labels["nvidia.com/gpu.present"]);
        Assert.Contains(node.Status.Addresses, a => a.Type == "InternalIP" && a.Address == "127.0.0.1");
        Assert.Contains(node.Status.Conditions, c => c.Type == "Ready" && c.Status == "True");
        var cpuNode = await client.CoreV1.ReadNodeAsync("cpu-node", cancellationToken: Ct);
        Assert.False(cpuNode.Status.Capacity.ContainsKey("nvidia.com/gpu"));

        var efa = Pod("efa", gpus: 8);
        efa.Spec.Containers[0].Resources.Limits["vpc.amazonaws.com/efa"] = new ResourceQuantity("32");
        await client.CoreV1.CreateNamespacedPodAsync(efa, Ns, cancellationToken: Ct);
        Assert.Equal("efa-node", (await client.WaitPodAsync("efa", IsRunning, "running")).Spec.NodeName);

        var more = Pod("efa-2", gpus: 0);
        more.Spec.Containers[0].Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["vpc.amazonaws.com/efa"] = new("1"), ["cpu"] = new("500m") } };
        await client.CoreV1.CreateNamespacedPodAsync(more, Ns, cancellationToken: Ct);
        var stuck = await client.WaitPodAsync("efa-2", p => p.Status?.Conditions?.Any(c => c.Reason == "Unschedulable") == true, "unschedulable");
        Assert.Equal("0/2 nodes are available: 2 Insufficient vpc.amazonaws.com/efa.", stuck.Status.Conditions.Single(c => c.Type == "PodScheduled").Message);
    }
}

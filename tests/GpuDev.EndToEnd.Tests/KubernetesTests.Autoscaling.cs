using System.Text.Json.Nodes;
using GpuDev.Testing.Kubernetes;

namespace GpuDev.EndToEnd.Tests;

/// <summary><c>Kubernetes:NodeGroups</c> end to end: the real server and CLI on the fake cluster, the test playing the
/// cluster autoscaler (it adds a node of the group while a request waits for one).</summary>
public sealed partial class KubernetesTests
{
    private const string EksGroup = "eks.amazonaws.com/nodegroup";

    [Fact]
    public async Task NodeGroup_Distributed16OnOneNode_QueuesForANewNode_StartsWhenTheAutoscalerAddsIt_OverTheMaxIsRefused()
    {
        var groupLabels = new Dictionary<string, string> { [EksGroup] = "h100-group" };
        await using var setup = await Setup.StartAsync(nodes: 0,
            new Dictionary<string, string>
            {
                ["GPUDEV_KUBERNETES__NODEGROUPS__0__NAME"] = "h100-group",
                ["GPUDEV_KUBERNETES__NODEGROUPS__0__GPUTYPE"] = "h100",
                ["GPUDEV_KUBERNETES__NODEGROUPS__0__GPUSPERNODE"] = "8",
                ["GPUDEV_KUBERNETES__NODEGROUPS__0__MAXNODES"] = "3",
            },
            cluster => cluster.AddNode("gpu-0", 8, groupLabels, efa: 32));
        var (cluster, server, work) = (setup.Cluster, setup.Server, setup.Work);
        try
        {
            var cli = new E2e.Cli(server.Url, setup.Token, Path.Combine(work, "config"));

            // 4 nodes: one today, and the group can grow to 3.
            var over = await cli.RunAsync("reserve", "-t", "h100", "-g", "32", "--distributed", "-h", "1", "--no-interactive", "--json");
            Assert.NotEqual(0, over.ExitCode);
            Assert.Contains("32 h100 GPUs need 4 nodes of 8 GPUs; this site has 1, and the node group can grow to 3 (h100-group, 1 now)", over.Stderr + over.Stdout, StringComparison.Ordinal);

            var id = Parse(E2e.Check(await cli.RunAsync("reserve", "-t", "h100", "-g", "16", "--distributed", "-h", "1", "--no-wait", "--json")).Stdout).Id;
            var queued = await WaitForStatusAsync(cli, id, "queued");
            await WaitAsync(async () => (queued = Parse(E2e.Check(await cli.RunAsync("show", id, "--json")).Stdout)).WaitReason?.StartsWith("waiting for", StringComparison.Ordinal) == true,
                "the wait reason to name the node group");
            Assert.Equal(
                "waiting for a new h100 node (2 whole nodes needed, 1 in the fleet); the node group can grow to 3 (h100-group, 1 now); start unknown until it joins",
                queued.WaitReason);
            Assert.Null(queued.EstimatedStartAt);
            var human = E2e.Check(await cli.RunAsync("show", id)).Stdout;
            output.WriteLine(human);
            Assert.Matches(@"Starts:\s+unknown", human);
            Assert.Contains("the node group can grow to 3", human, StringComparison.Ordinal);

            var placeholder = Assert.Single(Placeholders(cluster, id));
            Assert.Null(placeholder["spec"]!["nodeName"]);
            await WaitAsync(() => Task.FromResult(Placeholders(cluster, id).SingleOrDefault()?["status"]?["conditions"]?.AsArray()
                .Any(c => c!["type"]!.GetValue<string>() == "PodScheduled" && c["reason"]?.GetValue<string>() == "Unschedulable") == true), "the placeholder to be unschedulable");
            Assert.DoesNotContain(Of(cluster, "pods", id), p => p["metadata"]!["labels"]!["gpu-dev.io/role"]!.GetValue<string>() == "environment");

            cluster.AddNode("gpu-1", 8, groupLabels, efa: 32);

            var active = await WaitForStatusAsync(cli, id, "active");
            Assert.Equal(["gpu-0", "gpu-1"], active.Nodes.OrderBy(n => n.Rank).Select(n => n.Node));
            Assert.Empty(Placeholders(cluster, id));
            if (PodBackends.Containers)
            {
                Assert.Equal("0/2", (await SshAsync(setup, active.Ssh, "echo $RANK/$WORLD_SIZE")).Trim());
            }

            E2e.Check(await cli.RunAsync("cancel", id, "--yes"));
            await WaitAsync(() => Task.FromResult(AllObjects(cluster, id).Count == 0), "the reservation's objects to be deleted");
        }
        catch (Exception) when (Dump(server))
        {
            throw;
        }
    }

    private static List<JsonObject> Placeholders(FakeKubernetesServer cluster, string id) =>
        [.. Of(cluster, "pods", id).Where(p => p["metadata"]!["labels"]!["gpu-dev.io/role"]!.GetValue<string>() == "demand")];
}

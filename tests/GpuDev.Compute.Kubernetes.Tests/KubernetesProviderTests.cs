using k8s;
using System.Diagnostics;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using GpuDev.Testing;

namespace GpuDev.Compute.Kubernetes.Tests;

/// <summary>The provider against the fake API server (real wire protocol, real KubernetesClient, real sshd for the
/// handshake). Nothing here reaches into the provider: every check reads the cluster's objects.</summary>
public sealed class KubernetesProviderTests(ITestOutputHelper output)
{
    private static string NewId() => Guid.NewGuid().ToString("N");

    private static EnvironmentSpec Spec(string id, int nodes = 1, int gpus = 8, EnvironmentOptions? options = null, bool jupyter = false) => new()
    {
        ReservationId = id,
        Owner = "alice",
        AuthorizedKeys = [TestKeys.Ed25519],
        GpuType = "h100",
        Allocations = [.. Enumerable.Range(0, nodes).Select(r => new NodeAllocation(r, $"gpu-{r}", [.. Enumerable.Range(0, gpus)]))],
        Options = options ?? EnvironmentOptions.None,
        Jupyter = jupyter,
    };

    private static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe, string what)
        where T : class
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException(what);
    }

    [Fact]
    public async Task Discover_FourNodes_MinusOtherPodsGpus_WithoutCordonedOrNotReady()
    {
        await using var cluster = await FakeClusterFixture.StartAsync();
        cluster.Server.CordonNode("gpu-2", true);
        cluster.Server.SetNodeReady("gpu-3", false);
        await cluster.Client.CoreV1.CreateNamespacedPodAsync(new k8s.Models.V1Pod
        {
            Metadata = new k8s.Models.V1ObjectMeta { Name = "someone-else" },
            Spec = new k8s.Models.V1PodSpec
            {
                NodeName = "gpu-1",
                Containers = [new k8s.Models.V1Container { Name = "c", Image = "busybox:1", Resources = new k8s.Models.V1ResourceRequirements { Limits = new Dictionary<string, k8s.Models.ResourceQuantity> { ["nvidia.com/gpu"] = new("2") } } }],
            },
        }, "default", cancellationToken: TestContext.Current.CancellationToken);

        var nodes = await cluster.Provider.DiscoverNodesAsync(TestContext.Current.CancellationToken);

        Assert.Equal(["gpu-0:8", "gpu-1:6"], nodes.OrderBy(n => n.Name).Select(n => $"{n.Name}:{n.GpuCount}"));
        Assert.All(nodes, n => Assert.Equal("h100", n.GpuType));
        Assert.Equal("p5.48xlarge", nodes[0].Labels!["node.kubernetes.io/instance-type"]);
    }

    [Fact]
    public async Task Ensure_EightGpus_OnePodOnItsNode_NodePortService_ReadyAfterHandshake_Idempotent()
    {
        await using var cluster = await FakeClusterFixture.StartAsync();
        var id = NewId();
        var spec = Spec(id);

        var watch = Stopwatch.StartNew();
        var status = await cluster.Provider.EnsureEnvironmentAsync(spec, TestContext.Current.CancellationToken);
        output.WriteLine($"ensure → ready: {watch.ElapsedMilliseconds} ms");

        Assert.Equal(EnvironmentState.Ready, status.State);
        var pod = cluster.Server.Get("pods", "gpu-dev", $"gpudev-{id}-0")!;
        Assert.Equal("gpu-0", pod["spec"]!["nodeName"]!.GetValue<string>());
        Assert.Equal("8", pod["spec"]!["containers"]![0]!["resources"]!["limits"]!["nvidia.com/gpu"]!.ToString());
        var service = cluster.Server.Get("services", "gpu-dev", $"gpudev-{id}-0-ssh")!;
        Assert.Equal("NodePort", service["spec"]!["type"]!.GetValue<string>());
        var nodePort = service["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>();
        Assert.Equal(("127.0.0.1", nodePort, "dev"), (status.Ssh!.Host, status.Ssh.Port, status.Ssh.User));
        var secret = cluster.Server.Get("secrets", "gpu-dev", $"gpudev-{id}-keys")!;
        Assert.Equal(GpuDev.Testing.Kubernetes.SshdBackend.SecretText(secret, "ssh_host_ed25519_key.pub").Trim(), status.Ssh.HostKey);
        Assert.Null(status.NodeEndpoints);

        var again = await cluster.Provider.EnsureEnvironmentAsync(spec, TestContext.Current.CancellationToken);

        Assert.Equal(status.Ssh, again.Ssh);
        Assert.Single(cluster.Server.List("pods", "gpu-dev"));
        Assert.Equal(EnvironmentState.Ready, (await cluster.Provider.GetEnvironmentAsync(id, TestContext.Current.CancellationToken)).State);
        Assert.Equal([id], await cluster.Provider.ListEnvironmentsAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Ensure_Distributed16_TwoPodsRanks01_HeadlessServicesAndEndpointPerRank()
    {
        await using var cluster = await FakeClusterFixture.StartAsync();
        var id = NewId();

        var status = await cluster.Provider.EnsureEnvironmentAsync(Spec(id, nodes: 2), TestContext.Current.CancellationToken);

        Assert.Equal(EnvironmentState.Ready, status.State);
        Assert.Equal(2, status.NodeEndpoints!.Count);
        Assert.NotEqual(status.NodeEndpoints[0].Port, status.NodeEndpoints[1].Port);
        var pods = cluster.Server.List("pods", "gpu-dev").OrderBy(p => p["metadata"]!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(["0", "1"], pods.Select(p => p["metadata"]!["labels"]!["gpu-dev.io/rank"]!.GetValue<string>()));
        Assert.Equal(["gpu-0", "gpu-1"], pods.Select(p => p["spec"]!["nodeName"]!.GetValue<string>()));
        var headless = cluster.Server.List("services", "gpu-dev").Where(s => s["spec"]!["clusterIP"]?.GetValue<string>() == "None").ToList();
        Assert.Equal([$"gpudev-{id}-0-headless", $"gpudev-{id}-1-headless"], headless.Select(s => s["metadata"]!["name"]!.GetValue<string>()).Order());
        Assert.Equal("32", pods[1]["spec"]!["containers"]![0]!["resources"]!["limits"]!["vpc.amazonaws.com/efa"]!.ToString());
    }

    [Fact]
    public async Task Remove_DeletesEveryObjectOfTheReservation_AndStopsItsSshd()
    {
        await using var cluster = await FakeClusterFixture.StartAsync();
        var id = NewId();
        var other = NewId();
        await cluster.Provider.EnsureEnvironmentAsync(Spec(id, nodes: 2, jupyter: true), TestContext.Current.CancellationToken);
        await cluster.Provider.EnsureEnvironmentAsync(Spec(other, nodes: 1) with { Allocations = [new NodeAllocation(0, "gpu-2", [0])] }, TestContext.Current.CancellationToken);

        Assert.NotNull(cluster.Server.Get("networkpolicies", "gpu-dev", $"gpudev-{id}-net"));
        Assert.Contains(id, await cluster.Provider.ListEnvironmentsAsync(TestContext.Current.CancellationToken));

        await cluster.Provider.RemoveEnvironmentAsync(id, TestContext.Current.CancellationToken);

        foreach (var resource in new[] { "pods", "services", "secrets", "configmaps", "jobs", "networkpolicies" })
        {
            Assert.DoesNotContain(cluster.Server.List(resource, "gpu-dev"), o => o["metadata"]!["labels"]?["gpu-dev.io/reservation"]?.GetValue<string>() == id);
        }

        Assert.Single(cluster.Server.List("pods", "gpu-dev"));
        Assert.NotNull(cluster.Server.Get("networkpolicies", "gpu-dev", $"gpudev-{other}-net"));
        Assert.Equal([$"gpu-dev/gpudev-{other}-0"], cluster.Backend.Running);
        Assert.Equal(EnvironmentState.Absent, (await cluster.Provider.GetEnvironmentAsync(id, TestContext.Current.CancellationToken)).State);
        await cluster.Provider.RemoveEnvironmentAsync(id, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Watch_EvictedPod_ReportsTheReservationFailedWithTheReason()
    {
        await using var cluster = await FakeClusterFixture.StartAsync();
        var id = NewId();
        await cluster.Provider.EnsureEnvironmentAsync(Spec(id), TestContext.Current.CancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(15));
        var events = cluster.Provider.WatchAsync(cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await events.MoveNextAsync());
        Assert.Equal(EnvironmentEventKind.NodesChanged, events.Current.Kind);

        cluster.Server.EvictPod("gpu-dev", $"gpudev-{id}-0", "The node was low on resource: memory.");

        EnvironmentEvent? failed = null;
        while (failed is null && await events.MoveNextAsync())
        {
            failed = events.Current.Kind == EnvironmentEventKind.Failed ? events.Current : null;
        }

        Assert.Equal(id, failed!.ReservationId);
        Assert.Equal($"pod gpudev-{id}-0 was evicted: The node was low on resource: memory.", failed.Message);
        Assert.Equal(EnvironmentState.Failed, (await cluster.Provider.GetEnvironmentAsync(id, TestContext.Current.CancellationToken)).State);
        await events.DisposeAsync();
    }

    [Fact]
    public async Task ImagePullError_IsExplainedWhileStarting()
    {
        await using var cluster = await FakeClusterFixture.StartAsync(o => o.ReadyWait = TimeSpan.FromSeconds(1));
        var id = NewId();

        var status = await cluster.Provider.EnsureEnvironmentAsync(Spec(id, options: new EnvironmentOptions { DockerImage = "example/does-not-exist:1" }), TestContext.Current.CancellationToken);

        Assert.Equal(EnvironmentState.Starting, status.State);
        Assert.Contains("ImagePullBackOff", status.Message ?? "", StringComparison.Ordinal);
        Assert.Equal("example/does-not-exist:1", cluster.Server.Get("pods", "gpu-dev", $"gpudev-{id}-0")!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    [Fact]
    public async Task Warnings_GoIntoTheConfigMap_AndAreCleared()
    {
        await using var cluster = await FakeClusterFixture.StartAsync();
        var id = NewId();
        await cluster.Provider.EnsureEnvironmentAsync(Spec(id), TestContext.Current.CancellationToken);

        await cluster.Provider.DeliverWarningAsync(id, "EXPIRES_IN_5_MIN", "expires in 5 minutes", TestContext.Current.CancellationToken);
        var delivered = cluster.Server.Get("configmaps", "gpu-dev", $"gpudev-{id}-config")!["data"]!.AsObject();
        await cluster.Provider.ClearWarningsAsync(id, TestContext.Current.CancellationToken);
        var cleared = cluster.Server.Get("configmaps", "gpu-dev", $"gpudev-{id}-config")!["data"]!.AsObject();

        Assert.Equal("expires in 5 minutes\n", delivered["EXPIRES_IN_5_MIN"]!.GetValue<string>());
        Assert.False(cleared.ContainsKey("EXPIRES_IN_5_MIN"));
        Assert.True(cleared.ContainsKey("entry.sh"));
        await Assert.ThrowsAsync<ArgumentException>(() => cluster.Provider.DeliverWarningAsync(id, "../../etc/passwd", "x", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Jupyter_WantedIsAConfigMapKey_HasItsNodePortAndToken()
    {
        await using var cluster = await FakeClusterFixture.StartAsync();
        var id = NewId();
        await cluster.Provider.EnsureEnvironmentAsync(Spec(id, jupyter: true), TestContext.Current.CancellationToken);
        var withoutJupyter = NewId();
        await cluster.Provider.EnsureEnvironmentAsync(Spec(withoutJupyter) with { Allocations = [new NodeAllocation(0, "gpu-1", [0])] }, TestContext.Current.CancellationToken);

        var endpoint = await cluster.Provider.StartJupyterAsync(id, TestContext.Current.CancellationToken);

        var port = cluster.Server.Get("services", "gpu-dev", $"gpudev-{id}-jupyter")!["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>();
        Assert.Equal($"http://127.0.0.1:{port}/?token={endpoint.Token}", endpoint.Url);
        Assert.Equal(48, endpoint.Token.Length);
        Assert.True(cluster.Server.Get("configmaps", "gpu-dev", $"gpudev-{id}-config")!["data"]!.AsObject().ContainsKey("jupyter"));
        Assert.False(cluster.Server.Get("configmaps", "gpu-dev", $"gpudev-{withoutJupyter}-config")!["data"]!.AsObject().ContainsKey("jupyter"));
        Assert.Null(cluster.Server.Get("services", "gpu-dev", $"gpudev-{withoutJupyter}-jupyter"));
    }

    [Fact]
    public async Task Dockerfile_BuildsInClusterThenRunsTheBuiltImage()
    {
        await using var cluster = await FakeClusterFixture.StartAsync(o => o.BuildRegistry = "registry.example/team");
        var id = NewId();
        var spec = Spec(id, options: new EnvironmentOptions { Dockerfile = "FROM pytorch/pytorch:2.3.0-cuda12.1-cudnn8-devel\nRUN pip install transformers\n" });
        var digest = "sha256:" + new string('a', 64);
        cluster.Server.SetJobTerminationMessage("gpu-dev", $"gpudev-{id}-build", digest + "\n");

        var status = await EventuallyAsync(async () =>
        {
            var s = await cluster.Provider.EnsureEnvironmentAsync(spec, TestContext.Current.CancellationToken);
            return s.State == EnvironmentState.Starting ? null : s;
        }, "the build did not finish");

        Assert.Equal(EnvironmentState.Ready, status.State);
        Assert.Equal("FROM pytorch/pytorch:2.3.0-cuda12.1-cudnn8-devel\nRUN pip install transformers\n",
            cluster.Server.Get("configmaps", "gpu-dev", $"gpudev-{id}-build")!["data"]!["Dockerfile"]!.GetValue<string>());
        Assert.NotNull(cluster.Server.Get("jobs", "gpu-dev", $"gpudev-{id}-build"));
        // Run by the digest the build reported, never by the tag anyone with push rights could move.
        Assert.Equal($"registry.example/team/gpu-dev-build/{id}@{digest}", cluster.Server.Get("pods", "gpu-dev", $"gpudev-{id}-0")!["spec"]!["containers"]![0]!["image"]!.GetValue<string>());
    }

    [Fact]
    public async Task Dockerfile_BuildWithoutADigest_FailsAndRunsNothing()
    {
        await using var cluster = await FakeClusterFixture.StartAsync(o => o.BuildRegistry = "registry.example/team");
        var id = NewId();
        cluster.Server.SetJobTerminationMessage("gpu-dev", $"gpudev-{id}-build", "latest");
        var spec = Spec(id, options: new EnvironmentOptions { Dockerfile = "FROM busybox\n" });

        var status = await EventuallyAsync(async () =>
        {
            var s = await cluster.Provider.EnsureEnvironmentAsync(spec, TestContext.Current.CancellationToken);
            return s.State == EnvironmentState.Starting ? null : s;
        }, "the build did not finish");

        Assert.Equal(EnvironmentState.Failed, status.State);
        Assert.Contains("reported no sha256 digest", status.Message, StringComparison.Ordinal);
        Assert.Null(cluster.Server.Get("pods", "gpu-dev", $"gpudev-{id}-0"));
    }

    [Fact]
    public async Task Dockerfile_WithoutRegistry_FailsWithTheSetting()
    {
        await using var cluster = await FakeClusterFixture.StartAsync();

        var status = await cluster.Provider.EnsureEnvironmentAsync(Spec(NewId(), options: new EnvironmentOptions { Dockerfile = "FROM busybox\n" }), TestContext.Current.CancellationToken);

        Assert.Equal(EnvironmentState.Failed, status.State);
        Assert.Contains("Kubernetes:BuildRegistry", status.Message, StringComparison.Ordinal);
        Assert.Empty(cluster.Server.List("pods", "gpu-dev"));
    }

    [Fact]
    public async Task Disks_ArePvcs_SnapshotsAreVolumeSnapshots_RestoreMakesTheClaimFromOne()
    {
        await using var cluster = await FakeClusterFixture.StartAsync();
        var ct = TestContext.Current.CancellationToken;

        await cluster.Disks.CreateAsync("d1", ct);
        await cluster.Disks.CreateAsync("d1", ct);
        var snapshot = await cluster.Disks.SnapshotAsync("d1", "s1", "r1", ct);
        await cluster.Disks.RestoreAsync("d1", "s1", ct);

        var claim = cluster.Server.Get("persistentvolumeclaims", "gpu-dev", "gpudev-disk-d1")!;
        Assert.Equal(("gp3", "VolumeSnapshot", "gpudev-snap-s1"), (claim["spec"]!["storageClassName"]!.GetValue<string>(),
            claim["spec"]!["dataSource"]!["kind"]!.GetValue<string>(), claim["spec"]!["dataSource"]!["name"]!.GetValue<string>()));
        Assert.Equal(("s1", "d1", "r1"), (snapshot.Id, snapshot.DiskId, snapshot.ReservationId));
        Assert.Equal(100L * 1024 * 1024 * 1024, await cluster.Disks.UsageAsync("d1", ct));

        await cluster.Disks.PurgeAsync("d1", ct);

        Assert.Null(cluster.Server.Get("persistentvolumeclaims", "gpu-dev", "gpudev-disk-d1"));
        Assert.Empty(cluster.Server.List("volumesnapshots", "gpu-dev"));
    }

    [Fact]
    public async Task Ensure_WithDisk_MountsItsClaimAsHome()
    {
        await using var cluster = await FakeClusterFixture.StartAsync();
        await cluster.Disks.CreateAsync("d2", TestContext.Current.CancellationToken);
        var id = NewId();

        var status = await cluster.Provider.EnsureEnvironmentAsync(Spec(id) with { DiskId = "d2" }, TestContext.Current.CancellationToken);

        Assert.Equal(EnvironmentState.Ready, status.State);
        var home = cluster.Server.Get("pods", "gpu-dev", $"gpudev-{id}-0")!["spec"]!["volumes"]!.AsArray().Single(v => v!["name"]!.GetValue<string>() == "home")!;
        Assert.Equal("gpudev-disk-d2", home["persistentVolumeClaim"]!["claimName"]!.GetValue<string>());
    }
}

/// <summary>Every object the provider creates, checked offline against the Kubernetes schemas (the npm packages
/// kubernetes-models + @kubernetes-models/validate in tools/k8s-validate, installed by .ci/run).</summary>
public sealed class GeneratedObjectSchemaTests(ITestOutputHelper output)
{
    [Fact]
    public async Task EveryCreatedObject_PassesTheSchemaCheck()
    {
        var root = RepoRoot();
        var validator = Path.Combine(root, "tools", "k8s-validate", "validate.mjs");
        if (!Directory.Exists(Path.Combine(root, "tools", "k8s-validate", "node_modules")))
        {
            TestSkips.Skip("Schema check of generated objects: run `npm ci` in tools/k8s-validate first (.ci/run does).");
        }

        await using var cluster = await FakeClusterFixture.StartAsync(o =>
        {
            o.BuildRegistry = "registry.example/team";
            o.SharedPersonalClaim = "gpu-dev-shared-personal";
            o.CcacheClaim = "gpu-dev-ccache";
            o.SharedClaim = "gpu-dev-shared";
        });
        var ct = TestContext.Current.CancellationToken;
        EnvironmentSpec Spec(string id, int nodes, EnvironmentOptions? options = null) => new()
        {
            ReservationId = id, Owner = "alice", AuthorizedKeys = [GpuDev.Testing.TestKeys.Ed25519], GpuType = "h100", Jupyter = true,
            Allocations = [.. Enumerable.Range(0, nodes).Select(r => new NodeAllocation(r, $"gpu-{r}", [.. Enumerable.Range(0, 8)]))],
            Options = options ?? EnvironmentOptions.None,
        };
        await cluster.Disks.CreateAsync("d1", ct);
        await cluster.Provider.EnsureEnvironmentAsync(Spec(Guid.NewGuid().ToString("N"), 2, new EnvironmentOptions { NodeLabels = new Dictionary<string, string> { ["nsight"] = "true" } }), ct);
        var built = Guid.NewGuid().ToString("N");
        cluster.Server.SetJobTerminationMessage("gpu-dev", $"gpudev-{built}-build", "sha256:" + new string('b', 64));
        await cluster.Provider.EnsureEnvironmentAsync(Spec(built, 1, new EnvironmentOptions { Dockerfile = "FROM busybox\n" }) with
        {
            Allocations = [new NodeAllocation(0, "gpu-2", [0])], DiskId = "d1",
        }, ct);
        await cluster.Disks.SnapshotAsync("d1", "s1", null, ct);

        var objects = new System.Text.Json.Nodes.JsonArray();
        foreach (var resource in new[] { "pods", "services", "secrets", "configmaps", "jobs", "persistentvolumeclaims", "volumesnapshots", "networkpolicies" })
        {
            foreach (var item in cluster.Server.List(resource, "gpu-dev"))
            {
                objects.Add(item.DeepClone());
            }
        }

        // Including the pod the Job controller made from the Kaniko template.
        var pods = cluster.Server.List("pods", "gpu-dev").ToList();
        Assert.Contains(pods, p => p["metadata"]!["labels"]!["gpu-dev.io/role"]!.GetValue<string>() == "build");
        Assert.All(pods, p =>
        {
            var name = p["metadata"]!["name"]!.GetValue<string>();
            Assert.True(p["spec"]!["automountServiceAccountToken"]?.GetValue<bool>() == false, $"{name}: the service-account token is mounted");
            Assert.True(p["spec"]!["securityContext"]?["seccompProfile"]?["type"]?.GetValue<string>() == "RuntimeDefault", $"{name}: no RuntimeDefault seccomp profile");
        });

        var file = Path.Combine(Path.GetTempPath(), $"gpu-dev-objects-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(file, objects.ToJsonString(), ct);
        try
        {
            using var node = Process.Start(new ProcessStartInfo("node", [validator, file]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
            var stdout = await node.StandardOutput.ReadToEndAsync(ct);
            var stderr = await node.StandardError.ReadToEndAsync(ct);
            await node.WaitForExitAsync(ct);
            output.WriteLine(stdout + stderr);
            Assert.True(node.ExitCode == 0, stdout + stderr);
            Assert.Contains("Pod x", stdout, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "gpu-dev.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}

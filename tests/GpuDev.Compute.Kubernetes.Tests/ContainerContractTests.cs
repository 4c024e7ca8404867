using System.Diagnostics;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using GpuDev.Testing.Kubernetes;

namespace GpuDev.Compute.Kubernetes.Tests;

/// <summary>The environment contract for real: the fake kubelet runs each pod as a podman container of the devbox image
/// with gpu-dev's entry script, and the tests log in with ssh through the NodePort.</summary>
public sealed class ContainerContractTests(ITestOutputHelper output)
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(40);

    private static string NewId() => Guid.NewGuid().ToString("N");

    private static async Task<(FakeClusterFixture Cluster, TestSsh Ssh)> StartAsync()
    {
        if (!PodBackends.Containers)
        {
            TestSkips.Skip($"Container tests of the Kubernetes contract: {PodmanBackend.UnavailableReason}.");
        }

        var ssh = await TestSsh.CreateAsync();
        return (await FakeClusterFixture.StartAsync(), ssh);
    }

    private static EnvironmentSpec Spec(string id, TestSsh ssh, int nodes = 1, string? disk = null) => new()
    {
        ReservationId = id,
        Owner = "alice",
        AuthorizedKeys = [ssh.PublicKey],
        GpuType = "h100",
        Allocations = [.. Enumerable.Range(0, nodes).Select(r => new NodeAllocation(r, $"gpu-{r}", [.. Enumerable.Range(0, 8)]))],
        DiskId = disk,
    };

    private static async Task<EnvironmentStatus> ReadyAsync(FakeClusterFixture cluster, EnvironmentSpec spec)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (true)
        {
            var status = await cluster.Provider.EnsureEnvironmentAsync(spec, TestContext.Current.CancellationToken);
            if (status.State == EnvironmentState.Ready)
            {
                return status;
            }

            Assert.True(status.State == EnvironmentState.Starting && DateTime.UtcNow < deadline, $"{status.State}: {status.Message}");
        }
    }

    private static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + s_wait;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(250, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Ssh_AsDev_WithSudo_TheImageEnvAndRankInANonLoginSession()
    {
        var (cluster, ssh) = await StartAsync();
        await using var _ = cluster;
        using var __ = ssh;
        var id = NewId();

        var watch = Stopwatch.StartNew();
        var status = await ReadyAsync(cluster, Spec(id, ssh));
        output.WriteLine($"ensure → ready (container): {watch.ElapsedMilliseconds} ms");
        var result = await ssh.RunAsync(status.Ssh!, "id -un; sudo -n true && echo sudo-ok; echo $GPU_DEV_IMAGE; echo $RANK/$WORLD_SIZE; echo $GPU_DEV_RESERVATION_ID");

        Assert.Equal($"dev\nsudo-ok\ndevbox\n0/1\n{id}", result.Trim());
        Assert.Equal([$"gpu-dev/gpudev-{id}-0"], cluster.Backend.Running);

        await cluster.Provider.RemoveEnvironmentAsync(id, TestContext.Current.CancellationToken);

        Assert.Empty(cluster.Backend.Running);
    }

    [Fact]
    public async Task Multinode_RanksSshEachOtherByHeadlessName_AndShareShared()
    {
        var (cluster, ssh) = await StartAsync();
        await using var _ = cluster;
        using var __ = ssh;
        var id = NewId();

        var status = await ReadyAsync(cluster, Spec(id, ssh, nodes: 2));
        var fromRank0 = await ssh.RunAsync(status.NodeEndpoints![0],
            $"echo from-rank-0 > /shared/hello && ssh -o BatchMode=yes gpudev-{id}-1-headless 'hostname; echo $RANK; cat /shared/hello' && getent hosts $MASTER_ADDR >/dev/null && echo master-resolves");
        var fromRank1 = await ssh.RunAsync(status.NodeEndpoints[1], $"ssh -o BatchMode=yes gpudev-{id}-0-headless.gpu-dev.svc.cluster.local hostname");

        Assert.Equal($"gpudev-{id}-1\n1\nfrom-rank-0\nmaster-resolves", fromRank0.Trim());
        Assert.Equal($"gpudev-{id}-0", fromRank1.Trim());
        Assert.NotNull(cluster.Server.Get("persistentvolumeclaims", "gpu-dev", $"gpudev-{id}-shared"));

        await cluster.Provider.RemoveEnvironmentAsync(id, TestContext.Current.CancellationToken);

        Assert.Null(cluster.Server.Get("persistentvolumeclaims", "gpu-dev", $"gpudev-{id}-shared"));
    }

    [Fact]
    public async Task Jupyter_EnabledOnARunningPod_Answers_DisabledStopsTheServer()
    {
        var (cluster, ssh) = await StartAsync();
        await using var _ = cluster;
        using var __ = ssh;
        var id = NewId();
        var status = await ReadyAsync(cluster, Spec(id, ssh));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };

        var endpoint = await cluster.Provider.StartJupyterAsync(id, TestContext.Current.CancellationToken);

        await UntilAsync(async () =>
        {
            try
            {
                return (await http.GetAsync(endpoint.Url, TestContext.Current.CancellationToken)).IsSuccessStatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, "Jupyter to answer through its NodePort");
        Assert.Equal("1\n", cluster.Server.Get("configmaps", "gpu-dev", $"gpudev-{id}-config")!["data"]!["jupyter"]!.GetValue<string>());

        await cluster.Provider.StopJupyterAsync(id, TestContext.Current.CancellationToken);

        Assert.Null(cluster.Server.Get("services", "gpu-dev", $"gpudev-{id}-jupyter"));
        Assert.False(cluster.Server.Get("configmaps", "gpu-dev", $"gpudev-{id}-config")!["data"]!.AsObject().ContainsKey("jupyter"));
        await UntilAsync(async () => (await ssh.RunAsync(status.Ssh!, "pgrep -f 'jupyter-(lab|notebook)' >/dev/null || echo stopped")).Trim() == "stopped",
            "the entry script to stop Jupyter");
    }

    [Fact]
    public async Task RecreateEnv_OnADisk_MovesTheDotfilesAside_AndSnapshotListsTheFiles()
    {
        var (cluster, ssh) = await StartAsync();
        await using var _ = cluster;
        using var __ = ssh;
        var ct = TestContext.Current.CancellationToken;
        await cluster.Disks.CreateAsync("d1", ct);
        var first = NewId();
        var status = await ReadyAsync(cluster, Spec(first, ssh, disk: "d1"));
        await ssh.RunAsync(status.Ssh!, "echo '# mine' >> ~/.bashrc && mkdir -p ~/proj && printf 12345 > ~/proj/a.txt");
        await cluster.Provider.RemoveEnvironmentAsync(first, ct);
        var second = NewId();

        status = await ReadyAsync(cluster, Spec(second, ssh, disk: "d1") with { RecreateEnv = true });
        var home = await ssh.RunAsync(status.Ssh!, "grep -c mine ~/.bashrc; cat ~/.gpu-dev-env-backup-*/.bashrc | grep -c mine; env | grep -c GPU_DEV_RECREATE_ENV; true");
        await cluster.Provider.RemoveEnvironmentAsync(second, ct);
        var snapshot = await cluster.Disks.SnapshotAsync("d1", "s1", second, ct);
        var files = await cluster.Disks.ListContentAsync("d1", "s1", ct);

        Assert.Equal("0\n1\n0", home.Trim());
        Assert.Contains(("proj/a.txt", 5L), files);
        Assert.Contains(files, f => f.Path.StartsWith(".gpu-dev-env-backup-", StringComparison.Ordinal) && f.Path.EndsWith("/.bashrc", StringComparison.Ordinal));
        Assert.Equal(files.Count, snapshot.FileCount);
        Assert.DoesNotContain(cluster.Server.List("pods", "gpu-dev"), p => p["metadata"]!["name"]!.GetValue<string>().EndsWith("-list", StringComparison.Ordinal));
        Assert.Null(cluster.Server.Get("persistentvolumeclaims", "gpu-dev", "gpudev-snap-s1-list"));
    }
}

/// <summary>A client key and <c>ssh</c> runs that trust exactly the host key the provider reported.</summary>
internal sealed class TestSsh : IDisposable
{
    private readonly DirectoryInfo _dir;

    private TestSsh(DirectoryInfo dir, string publicKey)
    {
        _dir = dir;
        PublicKey = publicKey;
    }

    public string PublicKey { get; }

    private string Key => Path.Combine(_dir.FullName, "id_ed25519");

    public static async Task<TestSsh> CreateAsync()
    {
        var dir = Directory.CreateTempSubdirectory("gpu-dev-k8s-ssh-");
        var (code, _, error) = await RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", Path.Combine(dir.FullName, "id_ed25519")]);
        Assert.True(code == 0, error);
        return new TestSsh(dir, (await File.ReadAllTextAsync(Path.Combine(dir.FullName, "id_ed25519.pub"))).Trim());
    }

    /// <summary>Runs <paramref name="command"/> as the endpoint's user (no tty: a non-login session); fails on a non-zero exit.</summary>
    public async Task<string> RunAsync(SshEndpoint endpoint, string command)
    {
        var knownHosts = Path.Combine(_dir.FullName, $"known_hosts_{endpoint.Port}");
        await File.WriteAllTextAsync(knownHosts, $"[{endpoint.Host}]:{endpoint.Port} {endpoint.HostKey}\n");
        var (code, stdout, stderr) = await RunAsync("ssh",
        [
            "-i", Key, "-p", endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=yes", "-o", $"UserKnownHostsFile={knownHosts}", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR",
            $"{endpoint.User}@{endpoint.Host}", command,
        ]);
        Assert.True(code == 0, $"ssh {command}: exit {code}\n{stdout}\n{stderr}");
        return stdout;
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string file, IReadOnlyList<string> args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}

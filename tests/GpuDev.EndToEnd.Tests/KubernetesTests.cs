using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using GpuDev.Contracts;
using GpuDev.Testing.Kubernetes;

namespace GpuDev.EndToEnd.Tests;

/// <summary>The real binaries with <c>--provider kubernetes</c> against the fake API server (four 8-GPU h100 nodes),
/// whose kubelet runs each environment pod as a podman container of the devbox image with gpu-dev's entry script (or,
/// without podman, a host sshd per pod, so the server's SSH handshake check still runs unchanged).</summary>
public sealed partial class KubernetesTests(ITestOutputHelper output)
{
    private const string Ns = "gpu-dev";

    [Fact]
    public async Task FakeCluster_Reserve8_Distributed16_Cancel_EvictedPodFailsTheReservation()
    {
        await using var setup = await Setup.StartAsync(nodes: 4);
        var (cluster, sshd, server, work) = (setup.Cluster, setup.Sshd, setup.Server, setup.Work);
        try
        {
            var cli = new E2e.Cli(server.Url, setup.Token, Path.Combine(work, "config"));

            var status = JsonNode.Parse(E2e.Check(await cli.RunAsync("status", "--json")).Stdout)!;
            output.WriteLine(status.ToJsonString());

            var single = await cli.ReserveAsync(8);
            var pods = Of(cluster, "pods", single.Id);
            var pod = Assert.Single(pods);
            Assert.Equal("8", pod["spec"]!["containers"]![0]!["resources"]!["limits"]!["nvidia.com/gpu"]!.ToString());
            var service = Assert.Single(Of(cluster, "services", single.Id));
            Assert.Equal("NodePort", service["spec"]!["type"]!.GetValue<string>());
            Assert.Equal(service["spec"]!["ports"]![0]!["nodePort"]!.GetValue<int>(), single.Ssh!.Port);

            if (PodBackends.Containers)
            {
                var inside = await SshAsync(setup, single.Ssh, "id -un; sudo -n true && echo sudo-ok; echo $GPU_DEV_IMAGE; echo $RANK/$WORLD_SIZE");
                Assert.Equal("dev\nsudo-ok\ndevbox\n0/1", inside.Trim());
            }

            var distributed = Parse(E2e.Check(await cli.RunAsync("reserve", "-t", "h100", "-g", "16", "--distributed", "-h", "1", "--no-interactive", "--json")).Stdout);
            Assert.Equal("active", distributed.Status);
            var ranks = Of(cluster, "pods", distributed.Id).OrderBy(p => p["metadata"]!["name"]!.GetValue<string>()).ToList();
            Assert.Equal(["0", "1"], ranks.Select(p => p["metadata"]!["labels"]!["gpu-dev.io/rank"]!.GetValue<string>()));
            Assert.Equal(2, Of(cluster, "services", distributed.Id).Count(s => s["spec"]!["clusterIP"]?.GetValue<string>() == "None"));
            Assert.Equal(3, ranks.Concat(pods).Select(p => p["spec"]!["nodeName"]!.GetValue<string>()).Distinct().Count());
            if (PodBackends.Containers)
            {
                var rank1 = $"gpudev-{distributed.Id}-1";
                var fromRank0 = await SshAsync(setup, distributed.Ssh,
                    $"echo $RANK/$WORLD_SIZE; echo shared > /shared/x && ssh -o BatchMode=yes {rank1}-headless 'hostname; echo $RANK; cat /shared/x'");
                Assert.Equal($"0/2\n{rank1}\n1\nshared", fromRank0.Trim());
            }

            E2e.Check(await cli.RunAsync("cancel", single.Id, "--yes"));
            await WaitAsync(() => Task.FromResult(AllObjects(cluster, single.Id).Count == 0), "the cancelled reservation's objects to be deleted");

            cluster.EvictPod(Ns, $"gpudev-{distributed.Id}-1", "The node was low on resource: memory.");
            var failed = await WaitForStatusAsync(cli, distributed.Id, "failed");
            Assert.Contains("evicted: The node was low on resource: memory.", failed.History[^1].Reason, StringComparison.Ordinal);
            await WaitAsync(() => Task.FromResult(AllObjects(cluster, distributed.Id).Count == 0), "the failed reservation's objects to be deleted");
            await WaitAsync(() => Task.FromResult(sshd.Running.Count == 0), "every pod's container or sshd to be stopped");
        }
        catch (Exception) when (Dump(server))
        {
            throw;
        }
    }

    /// <summary>Our own time per reservation: request → pod created (scheduling, transaction, provisioning job, API
    /// calls) and pod Running → active (watch, NodePort lookup, SSH handshake, transaction). The fake kubelet's own time
    /// (starting sshd) is between the two and not ours.</summary>
    [Fact]
    public async Task FakeCluster_OwnTimePerReservation()
    {
        await using var setup = await Setup.StartAsync(nodes: 1);
        var (cluster, server, token) = (setup.Cluster, setup.Server, setup.Token);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        var toPod = new List<double>();
        var toActive = new List<double>();
        for (var i = 0; i < 10; i++)
        {
            var clock = Stopwatch.StartNew();
            var response = await http.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 8, Hours = 1 }, GpuDevJsonContext.Default.CreateReservationRequest);
            var created = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
            double podAt = 0, runningAt = 0, activeAt = 0;
            while (activeAt == 0)
            {
                var pod = cluster.Get("pods", Ns, $"gpudev-{created.Id}-0");
                if (podAt == 0 && pod is not null)
                {
                    podAt = clock.Elapsed.TotalMilliseconds;
                }

                if (runningAt == 0 && pod?["status"]?["phase"]?.GetValue<string>() == "Running")
                {
                    runningAt = clock.Elapsed.TotalMilliseconds;
                }

                var dto = await http.GetFromJsonAsync(Routes.Reservation(created.Id), GpuDevJsonContext.Default.ReservationDto);
                if (dto!.Status == "active")
                {
                    activeAt = clock.Elapsed.TotalMilliseconds;
                }

                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"reservation {i} not active: {dto.Status}\n{server.Log}");
            }

            toPod.Add(podAt);
            toActive.Add(activeAt - runningAt);
            (await http.DeleteAsync(Routes.Reservation(created.Id))).EnsureSuccessStatusCode();
            await WaitAsync(() => Task.FromResult(AllObjects(cluster, created.Id).Count == 0), "objects deleted after cancel");
        }

        static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
        output.WriteLine($"request → pod created: median {Median(toPod):0} ms (max {toPod.Max():0}); pod Running → active: median {Median(toActive):0} ms (max {toActive.Max():0}); n = 10");
        Assert.True(Median(toPod) + Median(toActive) < 2000, "our own time per reservation should be well under 2 s even on a loaded CI machine");
    }

    /// <summary>A fake cluster of 8-GPU h100 nodes with the sshd backend, the real server on it, and a user with a key.</summary>
    private sealed class Setup : IAsyncDisposable
    {
        public required FakeKubernetesServer Cluster { get; init; }

        public required IPodBackend Sshd { get; init; }

        public required ServerProcess Server { get; init; }

        public required string Work { get; init; }

        public required string Token { get; init; }

        public static async Task<Setup> StartAsync(int nodes, IReadOnlyDictionary<string, string>? serverEnvironment = null, Action<FakeKubernetesServer>? prepare = null)
        {
            if (PodBackends.UnavailableReason is { } reason)
            {
                TestSkips.Skip($"Kubernetes end-to-end tests: {reason}.");
            }

            var work = Directory.CreateTempSubdirectory("gpu-dev-e2e-k8s-").FullName;
            var cluster = await FakeKubernetesServer.StartAsync();
            prepare?.Invoke(cluster);
            for (var i = 0; i < nodes; i++)
            {
                cluster.AddNode($"gpu-{i}", 8, efa: 32);
            }

            var sshd = PodBackends.Start(cluster);
            var kubeconfig = cluster.WriteKubeconfig(Path.Combine(work, "kubeconfig"));
            var environment = new Dictionary<string, string>(serverEnvironment ?? new Dictionary<string, string>());
            if (PodBackends.Containers)
            {
                environment["GPUDEV_KUBERNETES__DEFAULTIMAGE"] = PodmanBackend.DefaultImage;
            }

            var server = await ServerProcess.StartAsync("", extraArgs: ["--provider", "kubernetes", "--kubeconfig", kubeconfig], environment: environment);
            var key = Path.Combine(work, "id_ed25519");
            E2e.Check(await Proc.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]));
            var token = E2e.Check(await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", "kube", "--ssh-key", key + ".pub", "--data-dir", server.DataDir])).Stdout.Trim();
            return new Setup { Cluster = cluster, Sshd = sshd, Server = server, Work = work, Token = token };
        }

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            await Sshd.DisposeAsync();
            await Cluster.DisposeAsync();
            Directory.Delete(Work, recursive: true);
        }
    }

    /// <summary>A non-login <c>ssh</c> as the reservation's user with the test user's key, trusting only the reported host key.</summary>
    private static async Task<string> SshAsync(Setup setup, SshInfoDto? ssh, string command)
    {
        Assert.NotNull(ssh);
        var knownHosts = Path.Combine(setup.Work, $"known_hosts_{ssh.Port}");
        await File.WriteAllTextAsync(knownHosts, $"[{ssh.Host}]:{ssh.Port} {ssh.HostKey}\n");
        return E2e.Check(await Proc.RunAsync("ssh", ["-i", Path.Combine(setup.Work, "id_ed25519"), "-p", ssh.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=yes", "-o", $"UserKnownHostsFile={knownHosts}", "-o", "LogLevel=ERROR",
            $"{ssh.User}@{ssh.Host}", command])).Stdout;
    }

    private bool Dump(ServerProcess server)
    {
        output.WriteLine(server.Log);
        return false;
    }

    private static List<JsonObject> Of(FakeKubernetesServer cluster, string resource, string id) =>
        [.. cluster.List(resource, Ns).Where(o => o["metadata"]?["labels"]?["gpu-dev.io/reservation"]?.GetValue<string>() == id)];

    private static List<JsonObject> AllObjects(FakeKubernetesServer cluster, string id) =>
        [.. new[] { "pods", "services", "secrets", "configmaps", "jobs" }.SelectMany(r => Of(cluster, r, id))];

    private static ReservationDto Parse(string json) => JsonSerializer.Deserialize(json, GpuDevJsonContext.Default.ReservationDto)!;

    private static async Task<ReservationDto> WaitForStatusAsync(E2e.Cli cli, string id, string wanted)
    {
        ReservationDto? last = null;
        await WaitAsync(async () =>
        {
            last = Parse(E2e.Check(await cli.RunAsync("show", id, "--json")).Stdout);
            return last.Status == wanted;
        }, $"reservation {id} to be {wanted}");
        return last!;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            await Task.Delay(50);
        }
    }
}

using System.Diagnostics;
using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost.Tests;

public sealed class MultinodeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TwoRanks_SshBetweenNodesByHostname_RankVariablesSharedDirOwnHomes()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var host0 = id[..12] + "-0";
        var host1 = id[..12] + "-1";

        var watch = Stopwatch.StartNew();
        var status = await provider.EnsureEnvironmentAsync(fx.MultinodeSpec(id, [0, 1], [2, 3]), Ct);
        TestContext.Current.SendDiagnosticMessage($"2-rank Ensure -> {status.State} in {watch.ElapsedMilliseconds} ms");

        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        var nodes = status.NodeEndpoints;
        Assert.NotNull(nodes);
        Assert.Equal(2, nodes.Count);
        Assert.Equal(status.Ssh, nodes[0]);
        Assert.NotEqual(nodes[0].Port, nodes[1].Port);

        // On rank 0: its own name, then plain `ssh <rank 1's name>` (no flags, no prompt) lands on rank 1 with rank 1's variables.
        var fromRank0 = await fx.SshAsync(
            nodes[0],
            "hostname; echo $RANK $WORLD_SIZE $MASTER_ADDR $MASTER_PORT $CUDA_VISIBLE_DEVICES $GPU_DEV_GPUS $GPU_DEV_NODE_RANK $GPU_DEV_NUM_NODES; "
            + "echo from-rank-0 > /shared/hello.txt; echo mine > home0.txt; "
            + $"ssh {host1} 'hostname; echo $RANK $WORLD_SIZE $MASTER_ADDR $MASTER_PORT $CUDA_VISIBLE_DEVICES $GPU_DEV_GPUS; cat /shared/hello.txt; ls ~'");
        Assert.True(fromRank0.Succeeded, fromRank0.Describe("ssh") + " " + fromRank0.StdErr);
        Assert.Equal(
            [host0, $"0 2 {host0} 29500 0,1 0,1 0 2", host1, $"1 2 {host0} 29500 0,1 2,3", "from-rank-0"],
            fromRank0.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        // On rank 1 directly (the endpoint `connect --node 1` uses): back to rank 0 by name, the shared file, its own home.
        var fromRank1 = await fx.SshAsync(nodes[1], $"hostname; cat /shared/hello.txt; ssh {host0} 'hostname; cat home0.txt'");
        Assert.True(fromRank1.Succeeded, fromRank1.Describe("ssh") + " " + fromRank1.StdErr);
        Assert.Equal([host1, "from-rank-0", host0, "mine"], fromRank1.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(File.Exists(Path.Combine(fx.StateDir, "envs", id, "shared", "hello.txt")));
        Assert.True(File.Exists(Path.Combine(fx.StateDir, "envs", id, "home-0", "home0.txt")));
        Assert.False(File.Exists(Path.Combine(fx.StateDir, "envs", id, "home-1", "home0.txt")));
    }

    [Fact]
    public async Task TwoMultinodeReservations_BothBindMasterPort_NeitherReachesTheOther()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var idA = LocalHostFixture.NewId();
        var idB = LocalHostFixture.NewId();
        var a = await provider.EnsureEnvironmentAsync(fx.MultinodeSpec(idA, [0], [1]), Ct);
        var b = await provider.EnsureEnvironmentAsync(fx.MultinodeSpec(idB, [2], [3]), Ct);
        const string Listen = "python3 -c \"import socket,time; s=socket.socket(); s.bind(('0.0.0.0',29500)); s.listen(); print('bound', flush=True); time.sleep(6)\"";

        var listenA = fx.SshAsync(a.Ssh!, Listen);
        var listenB = fx.SshAsync(b.Ssh!, Listen);
        await Task.Delay(1500, Ct);
        var addressA = await LocalHostProviderTests.Podman(["container", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", $"gpudev-{idA}-0"]);

        // B's rank 1 can reach its own master, not A's (another network), and A's name does not resolve in B.
        var fromB = await fx.SshAsync(b.NodeEndpoints![1],
            $"python3 -c \"import socket; socket.create_connection(('{idB[..12]}-0',29500),timeout=3); print('own-ok')\"; " +
            $"python3 -c \"import socket; socket.create_connection(('{addressA}',29500),timeout=3); print('other-ok')\" 2>/dev/null || echo other-refused; " +
            $"getent hosts {idA[..12]}-0 || echo other-unknown");

        Assert.True(a.State == EnvironmentState.Ready && b.State == EnvironmentState.Ready, $"{a.Message} {b.Message}");
        Assert.Matches(@"^\d+\.\d+\.\d+\.\d+$", addressA);
        Assert.Equal(["own-ok", "other-refused", "other-unknown"], fromB.StdOut.TrimEnd('\n').Split('\n'));
        var resultA = await listenA;
        var resultB = await listenB;
        Assert.Equal("bound", resultA.StdOut.Trim());
        Assert.Equal("bound", resultB.StdOut.Trim());
    }

    [Fact]
    public async Task TwoRanks_EnsureAgainAfterRestart_SameEndpointsAndResizeRefused()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var id = LocalHostFixture.NewId();
        var spec = fx.MultinodeSpec(id, [0], [0]);

        var first = await fx.CreateProvider().EnsureEnvironmentAsync(spec, Ct);
        var restarted = fx.CreateProvider();
        var again = await restarted.EnsureEnvironmentAsync(spec, Ct);
        var resized = await restarted.EnsureEnvironmentAsync(fx.MultinodeSpec(id, [0], [0], [0]), Ct);

        Assert.True(first.State == EnvironmentState.Ready, $"{first.State}: {first.Message}");
        Assert.Equal(first.NodeEndpoints, again.NodeEndpoints);
        Assert.Equal(EnvironmentState.Failed, resized.State);
        Assert.Contains("2 node(s)", resized.Message, StringComparison.Ordinal);
    }
}

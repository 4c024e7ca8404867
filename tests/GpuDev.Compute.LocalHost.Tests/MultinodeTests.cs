using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost.Tests;

public sealed class MultinodeTests
{
    private const string Sshd = "/usr/sbin/sshd";

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
        Console.WriteLine($"multinode-ensure-to-ready-ms {watch.ElapsedMilliseconds}");
        TestContext.Current.SendDiagnosticMessage($"2-rank Ensure -> {status.State} in {watch.ElapsedMilliseconds} ms");

        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        var nodes = status.NodeEndpoints;
        Assert.NotNull(nodes);
        Assert.Equal(2, nodes.Count);
        Assert.Equal(status.Ssh, nodes[0]);
        Assert.NotEqual(nodes[0].Port, nodes[1].Port);
        Assert.Equal(nodes[0].User, nodes[1].User);
        Assert.NotEqual(nodes[0].HostKey, nodes[1].HostKey);

        // On rank 0: its own name, then plain `ssh <rank 1's name>` (no flags, no prompt) lands on rank 1 with rank 1's variables.
        var fromRank0 = await fx.SshAsync(
            nodes[0],
            $"hostname; echo $RANK $WORLD_SIZE $MASTER_ADDR $MASTER_PORT $CUDA_VISIBLE_DEVICES $GPU_DEV_NODE_RANK $GPU_DEV_NUM_NODES; "
            + $"getent hosts {host1} | cut -d' ' -f1; echo from-rank-0 > /shared/hello.txt; echo mine > home0.txt; "
            + $"ssh {host1} 'hostname; echo $RANK $WORLD_SIZE $MASTER_ADDR $MASTER_PORT $CUDA_VISIBLE_DEVICES; cat /shared/hello.txt; ls ~'");
        Assert.True(fromRank0.Succeeded, fromRank0.Describe("ssh") + " " + fromRank0.StdErr);
        Assert.Equal(
            [host0, $"0 2 {host0} 29500 0,1 0 2", "127.0.0.1", host1, $"1 2 {host0} 29500 2,3", "from-rank-0"],
            fromRank0.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        // On rank 1 directly (the endpoint `connect --node 1` uses): back to rank 0 by name, the shared file, its own home.
        var fromRank1 = await fx.SshAsync(nodes[1], $"hostname; echo $RANK $NVIDIA_VISIBLE_DEVICES; cat /shared/hello.txt; ls ~; ssh {host0} 'hostname; cat home0.txt'");
        Assert.True(fromRank1.Succeeded, fromRank1.Describe("ssh") + " " + fromRank1.StdErr);
        Assert.Equal([host1, "1 2,3", "from-rank-0", host0, "mine"], fromRank1.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.True(File.Exists(Path.Combine(fx.StateDir, "envs", id, "shared", "hello.txt")));
        Assert.True(File.Exists(Path.Combine(fx.StateDir, "envs", id, "home", "home0.txt")));
        Assert.False(File.Exists(Path.Combine(fx.StateDir, "envs", id, "node-1", "home", "home0.txt")));
    }

    [Fact]
    public async Task TwoRanks_EnsureTwiceGetAndRestart_SameEndpointsOneSshdPerRank()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var spec = fx.MultinodeSpec(id, [0], [0]);
        var envDir = Path.Combine(fx.StateDir, "envs", id);

        var first = await provider.EnsureEnvironmentAsync(spec, Ct);
        var stamps = Directory.GetFiles(envDir, "*", SearchOption.AllDirectories).Where(f => !f.Contains("/home/", StringComparison.Ordinal) && !f.EndsWith(".log", StringComparison.Ordinal))
            .ToDictionary(f => f, File.GetLastWriteTimeUtc);
        var second = await provider.EnsureEnvironmentAsync(spec, Ct);
        var get = await provider.GetEnvironmentAsync(id, Ct);
        var restarted = fx.CreateProvider();
        var listed = await restarted.ListEnvironmentsAsync(Ct);
        var afterRestart = await restarted.GetEnvironmentAsync(id, Ct);
        var again = await restarted.EnsureEnvironmentAsync(spec, Ct);
        var resized = await restarted.EnsureEnvironmentAsync(fx.MultinodeSpec(id, [0], [0], [0]), Ct);

        Assert.True(first.State == EnvironmentState.Ready, $"{first.State}: {first.Message}");
        foreach (var status in new[] { second, get, afterRestart, again })
        {
            Assert.Equal(EnvironmentState.Ready, status.State);
            Assert.Equal(first.Ssh, status.Ssh);
            Assert.Equal(first.NodeEndpoints, status.NodeEndpoints);
        }

        Assert.Equal([id], listed);
        Assert.Single(ProcessTable.FindSshd(Path.Combine(envDir, "sshd_config"), Sshd));
        Assert.Single(ProcessTable.FindSshd(Path.Combine(envDir, "node-1", "sshd_config"), Sshd));
        Assert.Equal(2, ProcessTable.FindSshdUnder(envDir, Sshd).Count);
        Assert.Equal(stamps, Directory.GetFiles(envDir, "*", SearchOption.AllDirectories).Where(f => !f.Contains("/home/", StringComparison.Ordinal) && !f.EndsWith(".log", StringComparison.Ordinal))
            .ToDictionary(f => f, File.GetLastWriteTimeUtc));
        Assert.Equal(EnvironmentState.Failed, resized.State);
    }

    [Fact]
    public async Task TwoRanks_RemoveWithSessionsOnBothRanks_LeavesNoProcessUserDirOrPort()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var status = await provider.EnsureEnvironmentAsync(fx.MultinodeSpec(id, [0], [1]), Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        var nodes = status.NodeEndpoints!;
        var uid = int.Parse((await ProcessRunner.RunAsync("id", ["-u", nodes[0].User], TimeSpan.FromSeconds(5), Ct)).StdOut.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var envDir = Path.Combine(fx.StateDir, "envs", id);
        var sshdPids = ProcessTable.FindSshdUnder(envDir, Sshd);
        Assert.Equal(2, sshdPids.Count);

        // A session on rank 1, and one on rank 0 that holds an ssh connection to rank 1.
        var session1 = fx.SshAsync(nodes[1], "sleep 300");
        var session0 = fx.SshAsync(nodes[0], $"ssh {id[..12]}-1 sleep 300");
        for (var i = 0; i < 200 && ProcessTable.Snapshot().Count(e => e.Uid == uid && e.State != 'Z') < 4; i++)
        {
            await Task.Delay(50, Ct);
        }

        await provider.RemoveEnvironmentAsync(id, Ct);
        await provider.RemoveEnvironmentAsync(id, Ct);
        var ended = await Task.WhenAll(session0, session1);

        Assert.All(ended, e => Assert.NotEqual(0, e.ExitCode));
        Assert.DoesNotContain(ProcessTable.Snapshot(), e => e.Uid == uid && e.State is not ('Z' or 'X'));
        Assert.Empty(ProcessTable.FindSshdUnder(envDir, Sshd));
        Assert.All(sshdPids, pid => Assert.False(Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal)));
        Assert.False(Directory.Exists(envDir));
        Assert.Equal(2, (await ProcessRunner.RunAsync("getent", ["passwd", nodes[0].User], TimeSpan.FromSeconds(5), Ct)).ExitCode);
        foreach (var node in nodes)
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Any, node.Port));
        }

        Assert.Equal(EnvironmentState.Absent, (await provider.GetEnvironmentAsync(id, Ct)).State);
        Assert.Empty(await provider.ListEnvironmentsAsync(Ct));
    }
}

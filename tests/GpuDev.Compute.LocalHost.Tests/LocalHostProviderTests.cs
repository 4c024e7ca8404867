using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost.Tests;

public sealed class LocalHostProviderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EnsureEnvironment_RealSsh_DevWithSudoContractVariablesAndImageEnv()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var usersBefore = await Passwd();

        var watch = Stopwatch.StartNew();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 2, 3), Ct);
        TestContext.Current.SendDiagnosticMessage($"Ensure -> {status.State} in {watch.ElapsedMilliseconds} ms");
        var result = await fx.SshAsync(status.Ssh!,
            "id -un; id -u; sudo -n true && echo sudo-ok; echo $CUDA_VISIBLE_DEVICES $NVIDIA_VISIBLE_DEVICES $GPU_DEV_GPUS; echo $HOME; pwd; " +
            "echo $EXTRA_VAR; echo $GPU_DEV_IMAGE; echo $RANK $WORLD_SIZE $MASTER_PORT $GPU_DEV_RESERVATION_ID; echo written > note.txt");

        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        Assert.Equal("dev", status.Ssh!.User);
        Assert.StartsWith("ssh-ed25519 AAAA", status.Ssh.HostKey, StringComparison.Ordinal);
        Assert.True(result.Succeeded, result.Describe("ssh") + " " + result.StdErr);
        Assert.Equal(
            ["dev", "1000", "sudo-ok", "0,1 2,3 2,3", "/home/dev", "/home/dev", "hello world", "devbox", $"0 1 29500 {id}"],
            result.StdOut.TrimEnd('\n').Split('\n'));

        // The home is a host directory owned by the container's dev, which is not a host user and not host root.
        var note = Path.Combine(fx.StateDir, "envs", id, "home-0", "note.txt");
        Assert.Equal("written\n", await File.ReadAllTextAsync(note, Ct));
        var owner = (await ProcessRunner.RunAsync("stat", ["-c", "%u", note], TimeSpan.FromSeconds(5), Ct)).StdOut.Trim();
        Assert.True(long.Parse(owner, CultureInfo.InvariantCulture) >= 1_000_000_000, owner);
        Assert.Equal(usersBefore, await Passwd());
    }

    [Fact]
    public async Task EnsureEnvironment_Twice_SameEndpointOneContainerAndWrongKeyRefused()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();

        var first = await provider.EnsureEnvironmentAsync(fx.Spec(id, 0), Ct);
        var started = await Podman(["container", "inspect", "--format", "{{.State.StartedAt}}", $"gpudev-{id}-0"]);
        var second = await provider.EnsureEnvironmentAsync(fx.Spec(id, 0), Ct);
        var wrongKey = await fx.SshAsync(first.Ssh!, "true", fx.OtherKey);
        var get = await provider.GetEnvironmentAsync(id, Ct);

        Assert.Equal(EnvironmentState.Ready, second.State);
        Assert.Equal(first.Ssh, second.Ssh);
        Assert.Equal(first.Ssh, get.Ssh);
        Assert.Equal(EnvironmentState.Ready, get.State);
        Assert.Equal(started, await Podman(["container", "inspect", "--format", "{{.State.StartedAt}}", $"gpudev-{id}-0"]));
        Assert.Equal($"gpudev-{id}-0", await Podman(["ps", "-a", "--filter", "label=gpu-dev.io/reservation=" + id, "--format", "{{.Names}}"]));
        Assert.Equal(255, wrongKey.ExitCode);
        Assert.Contains("Permission denied", wrongKey.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sessions_ShareProcessesAndTmp_JobsAndTmuxSurviveDisconnect()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(LocalHostFixture.NewId(), 0), Ct);

        var first = await fx.SshAsync(status.Ssh!,
            "nohup python3 -c \"import time; time.sleep(2); open('/home/dev/done','w').write('yes')\" >/dev/null 2>&1 & " +
            "tmux new -d -s keep 'sleep 300'; echo from-first > /tmp/shared.txt; echo started");
        var second = await fx.SshAsync(status.Ssh!, "cat /tmp/shared.txt; tmux ls | cut -d: -f1; ps -eo args | grep -c '^sleep 300'; test -e /dev/shm && echo shm");
        string? done = null;
        for (var i = 0; i < 100 && done is null; i++)
        {
            var check = await fx.SshAsync(status.Ssh!, "cat /home/dev/done 2>/dev/null");
            done = check.StdOut.Trim() == "yes" ? "yes" : null;
            await Task.Delay(100, Ct);
        }

        Assert.True(first.Succeeded, first.StdErr);
        Assert.Equal(["from-first", "keep", "1", "shm"], second.StdOut.TrimEnd('\n').Split('\n'));
        Assert.Equal("yes", done);
    }

    [Fact]
    public async Task RemoveEnvironment_WithRunningSession_LeavesNoContainerNetworkPortOrDirectory()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 1), Ct);
        var session = fx.SshAsync(status.Ssh!, "sleep 300");
        await Task.Delay(300, Ct);

        await provider.RemoveEnvironmentAsync(id, Ct);
        await provider.RemoveEnvironmentAsync(id, Ct);
        var ended = await session;

        Assert.NotEqual(0, ended.ExitCode);
        Assert.Equal(string.Empty, await Podman(["ps", "-a", "--filter", "label=gpu-dev.io/reservation=" + id, "--format", "{{.Names}}"]));
        Assert.Equal(string.Empty, await Podman(["network", "ls", "--filter", "label=gpu-dev.io/reservation=" + id, "--format", "{{.Name}}"]));
        Assert.False(Directory.Exists(Path.Combine(fx.StateDir, "envs", id)));
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, status.Ssh!.Port));
        }

        Assert.Equal(EnvironmentState.Absent, (await provider.GetEnvironmentAsync(id, Ct)).State);
        Assert.Empty(await provider.ListEnvironmentsAsync(Ct));
    }

    [Fact]
    public async Task NewProviderInstance_SameStateDir_FindsRunningEnvironmentByLabel()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var id = LocalHostFixture.NewId();
        var before = await fx.CreateProvider().EnsureEnvironmentAsync(fx.Spec(id, 0, 1), Ct);
        Assert.True((await fx.SshAsync(before.Ssh!, "tmux new -d -s keep 'sleep 300'")).Succeeded);

        // A restarted server: a new provider over the same StateDir; the record is gone too (a crash before it was kept).
        File.Delete(Path.Combine(fx.StateDir, "envs", id, "env.json"));
        var restarted = fx.CreateProvider();
        var listed = await restarted.ListEnvironmentsAsync(Ct);
        var other = fx.CreateProvider(o => o.StateDir = Path.Combine(fx.Root, "other-state"));

        Assert.Equal([id], listed);
        Assert.Empty(await other.ListEnvironmentsAsync(Ct));
        await restarted.RemoveEnvironmentAsync(id, Ct);
        Assert.Empty(await restarted.ListEnvironmentsAsync(Ct));
        Assert.Equal(string.Empty, await Podman(["ps", "-a", "--filter", "label=gpu-dev.io/reservation=" + id, "--format", "{{.Names}}"]));
    }

    [Fact]
    public async Task NewProviderInstance_KeepsSessionsAndReportsReady()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var id = LocalHostFixture.NewId();
        var before = await fx.CreateProvider().EnsureEnvironmentAsync(fx.Spec(id, 0, 1), Ct);
        Assert.True((await fx.SshAsync(before.Ssh!, "tmux new -d -s keep 'sleep 300'")).Succeeded);

        var restarted = fx.CreateProvider();
        var status = await restarted.GetEnvironmentAsync(id, Ct);
        var again = await restarted.EnsureEnvironmentAsync(fx.Spec(id, 0, 1), Ct);
        var tmux = await fx.SshAsync(before.Ssh!, "tmux ls | cut -d: -f1");

        Assert.Equal(EnvironmentState.Ready, status.State);
        Assert.Equal(before.Ssh, status.Ssh);
        Assert.Equal(before.Ssh, again.Ssh);
        Assert.Equal("keep", tmux.StdOut.Trim());
    }

    [Fact]
    public async Task ContainerExited_GetEnvironment_FailedWithReason()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        await provider.EnsureEnvironmentAsync(fx.Spec(id, 0), Ct);

        await Podman(["kill", $"gpudev-{id}-0"]);
        var status = await provider.GetEnvironmentAsync(id, Ct);

        Assert.Equal(EnvironmentState.Failed, status.State);
        Assert.Contains("exited", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiscoverNodes_ImageMissing_StopsWithOneLineNamingTheBuildScript()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider(o => o.DefaultImage = "localhost/gpu-dev/no-such-image:1");

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.DiscoverNodesAsync(Ct));

        Assert.Contains("localhost/gpu-dev/no-such-image:1 is missing", Assert.Single(error.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiscoverNodes_NoPodman_StopsNamingThePackage()
    {
        var provider = new LocalHostProvider(
            Microsoft.Extensions.Options.Options.Create(new LocalHostOptions { StateDir = "/var/lib/gpu-dev-tests/none", Gpus = "h100:1", PodmanPath = "/nonexistent/podman" }),
            new LocalHostContext("/nonexistent"), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<LocalHostProvider>.Instance);

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.DiscoverNodesAsync(Ct));

        Assert.Contains("apt-get install podman runc", Assert.Single(error.Failures), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ABCDEF0123456789abcdef0123456789")]
    [InlineData("short")]
    [InlineData("../../../../etc/passwd0000000000")]
    public async Task Methods_InvalidId_ThrowArgumentException(string id)
    {
        var provider = new LocalHostProvider(
            Microsoft.Extensions.Options.Options.Create(new LocalHostOptions { StateDir = "/var/lib/gpu-dev-tests/none" }),
            new LocalHostContext("/nonexistent"), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<LocalHostProvider>.Instance);

        await Assert.ThrowsAsync<ArgumentException>(() => provider.GetEnvironmentAsync(id, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => provider.RemoveEnvironmentAsync(id, Ct));
    }

    internal static async Task<string> Podman(string[] args) =>
        (await ProcessRunner.RunAsync("podman", args, TimeSpan.FromSeconds(30), CancellationToken.None)).StdOut.Trim();

    private static async Task<string> Passwd() =>
        (await ProcessRunner.RunAsync("getent", ["passwd"], TimeSpan.FromSeconds(5), CancellationToken.None)).StdOut;
}

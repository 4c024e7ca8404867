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
    public async Task EnsureEnvironment_RealSsh_SeesAllocatedGpusOwnUidAndHome()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();

        var watch = Stopwatch.StartNew();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 2, 3), Ct);
        TestContext.Current.SendDiagnosticMessage($"Ensure -> {status.State} in {watch.ElapsedMilliseconds} ms");
        Console.WriteLine($"ensure-to-ready-ms {watch.ElapsedMilliseconds}");
        var result = await fx.SshAsync(status.Ssh!, "echo $CUDA_VISIBLE_DEVICES; id -u; echo $HOME; pwd; echo $EXTRA_VAR; echo $RANK $WORLD_SIZE $NVIDIA_VISIBLE_DEVICES; echo written > note.txt");

        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        Assert.StartsWith("ssh-ed25519 AAAA", status.Ssh!.HostKey, StringComparison.Ordinal);
        Assert.True(result.Succeeded, result.Describe("ssh") + " " + result.StdErr);
        var lines = result.StdOut.Split('\n');
        Assert.True(lines.Length >= 6, result.StdOut + result.StdErr);
        Assert.Equal("2,3", lines[0]);
        Assert.NotEqual("0", lines[1]);
        Assert.Equal(["/home/dev", "/home/dev", "hello world", "0 1 2,3"], lines[2..6]);
        var note = Path.Combine(fx.StateDir, "envs", id, "home", "note.txt");
        Assert.Equal("written\n", await File.ReadAllTextAsync(note, Ct));
        Assert.Equal(lines[1], (await Id(["-u", status.Ssh.User])).Trim());
    }

    [Fact]
    public async Task EnsureEnvironment_Twice_SamePortOneSshdAndWrongKeyRefused()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();

        var first = await provider.EnsureEnvironmentAsync(fx.Spec(id, 0), Ct);
        var second = await provider.EnsureEnvironmentAsync(fx.Spec(id, 0), Ct);
        var wrongKey = await fx.SshAsync(first.Ssh!, "true", fx.OtherKey);
        var get = await provider.GetEnvironmentAsync(id, Ct);

        Assert.Equal(EnvironmentState.Ready, second.State);
        Assert.Equal(first.Ssh, second.Ssh);
        Assert.Equal(first.Ssh, get.Ssh);
        Assert.Equal(EnvironmentState.Ready, get.State);
        Assert.Single(ProcessTable.FindSshd(Path.Combine(fx.StateDir, "envs", id, "sshd_config"), "/usr/sbin/sshd"));
        Assert.Equal(255, wrongKey.ExitCode);
        Assert.Contains("Permission denied", wrongKey.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveEnvironment_WithRunningSession_LeavesNothingAndIsIdempotent()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 1), Ct);
        var uid = int.Parse((await Id(["-u", status.Ssh!.User])).Trim(), CultureInfo.InvariantCulture);
        var config = Path.Combine(fx.StateDir, "envs", id, "sshd_config");
        var sshdPid = Assert.Single(ProcessTable.FindSshd(config, "/usr/sbin/sshd"));
        // A session that is still running when the environment is removed.
        var session = fx.SshAsync(status.Ssh, "sleep 300");
        for (var i = 0; i < 100 && !ProcessTable.Snapshot().Any(e => e.Uid == uid && e.State != 'Z'); i++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.Contains(ProcessTable.Snapshot(), e => e.Uid == uid && e.State != 'Z');

        await provider.RemoveEnvironmentAsync(id, Ct);
        await provider.RemoveEnvironmentAsync(id, Ct);
        var ended = await session;

        Assert.NotEqual(0, ended.ExitCode);
        Assert.DoesNotContain(ProcessTable.Snapshot(), e => e.Uid == uid && e.State is not ('Z' or 'X'));
        Assert.False(Directory.Exists($"/proc/{sshdPid}") && !File.ReadAllText($"/proc/{sshdPid}/stat").Contains(") Z ", StringComparison.Ordinal));
        Assert.Empty(ProcessTable.FindSshd(config, "/usr/sbin/sshd"));
        Assert.False(Directory.Exists(Path.Combine(fx.StateDir, "envs", id)));
        var getent = await ProcessRunner.RunAsync("getent", ["passwd", status.Ssh.User], TimeSpan.FromSeconds(5), Ct);
        Assert.Equal(2, getent.ExitCode);
        using (var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            socket.Bind(new IPEndPoint(IPAddress.Any, status.Ssh.Port));
        }

        Assert.Equal(EnvironmentState.Absent, (await provider.GetEnvironmentAsync(id, Ct)).State);
        Assert.Empty(await provider.ListEnvironmentsAsync(Ct));
    }

    [Fact]
    public async Task TwoEnvironments_DifferentPortsAndUids_CannotReadEachOthersHome()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var idA = LocalHostFixture.NewId();
        var idB = LocalHostFixture.NewId();

        var a = await provider.EnsureEnvironmentAsync(fx.Spec(idA, 0), Ct);
        var b = await provider.EnsureEnvironmentAsync(fx.Spec(idB, 1), Ct);
        Assert.True((await fx.SshAsync(a.Ssh!, "echo secret > secret.txt")).Succeeded);
        var secret = Path.Combine(fx.StateDir, "envs", idA, "home", "secret.txt");
        var fromSandboxB = await fx.SshAsync(b.Ssh!, $"cat {secret}");
        var asUserB = await ProcessRunner.RunAsync("runuser", ["-u", b.Ssh!.User, "--", "cat", secret], TimeSpan.FromSeconds(10), Ct);

        Assert.Equal(EnvironmentState.Ready, a.State);
        Assert.Equal(EnvironmentState.Ready, b.State);
        Assert.NotEqual(a.Ssh!.Port, b.Ssh.Port);
        Assert.NotEqual(await Id(["-u", a.Ssh.User]), await Id(["-u", b.Ssh.User]));
        Assert.NotEqual(0, fromSandboxB.ExitCode);
        Assert.DoesNotContain("secret", fromSandboxB.StdOut, StringComparison.Ordinal);
        Assert.NotEqual(0, asUserB.ExitCode);
        Assert.Contains("Permission denied", asUserB.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NewProviderInstance_SameStateDir_ListsAndRemovesExistingEnvironment()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var id = LocalHostFixture.NewId();
        var before = await fx.CreateProvider().EnsureEnvironmentAsync(fx.Spec(id, 0, 1), Ct);
        var restarted = fx.CreateProvider();

        var listed = await restarted.ListEnvironmentsAsync(Ct);
        var status = await restarted.GetEnvironmentAsync(id, Ct);
        var again = await restarted.EnsureEnvironmentAsync(fx.Spec(id, 0, 1), Ct);
        await restarted.RemoveEnvironmentAsync(id, Ct);

        Assert.Equal([id], listed);
        Assert.Equal(EnvironmentState.Ready, status.State);
        Assert.Equal(before.Ssh, status.Ssh);
        Assert.Equal(before.Ssh, again.Ssh);
        Assert.Empty(await restarted.ListEnvironmentsAsync(Ct));
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

    private static async Task<string> Id(string[] args) =>
        (await ProcessRunner.RunAsync("id", args, TimeSpan.FromSeconds(5), CancellationToken.None)).StdOut;
}

using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost.Tests;

public sealed class WarningTests
{
    private const string Message = "Reservation expires in 5 minutes\nSave your work or run gpu-dev extend";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task DeliverWarning_ReachesOpenPtySessionAndHome_ClearRemovesFiles()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 0), Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        using var session = await fx.StartPtySessionAsync(status.Ssh!, "echo session-up; sleep 60");
        Assert.True(await session.WaitForAsync("session-up", TimeSpan.FromSeconds(20)), "pty session output: " + session.Output);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await provider.DeliverWarningAsync(id, "EXPIRES_IN_5_MIN", Message, Ct);
        Console.WriteLine($"deliver-warning-ms {watch.ElapsedMilliseconds}");

        Assert.True(await session.WaitForAsync("Save your work or run gpu-dev extend ***", TimeSpan.FromSeconds(5)), "pty session output: " + session.Output);
        Assert.Contains("*** gpu-dev: Reservation expires in 5 minutes\r", session.Output, StringComparison.Ordinal);
        var cat = await fx.SshAsync(status.Ssh!, "cat ~/EXPIRES_IN_5_MIN; stat -c %U ~/EXPIRES_IN_5_MIN");
        Assert.True(cat.Succeeded, cat.Describe("ssh") + " " + cat.StdErr);
        Assert.Equal(Message + "\ndev\n", cat.StdOut);

        // Repeating, and a second warning, are fine; an extension clears them all.
        await provider.DeliverWarningAsync(id, "EXPIRES_IN_5_MIN", Message, Ct);
        await provider.DeliverWarningAsync(id, "EXPIRES_IN_1_MIN", "one minute left", Ct);
        Assert.True(await session.WaitForAsync("*** gpu-dev: one minute left ***", TimeSpan.FromSeconds(5)), "pty session output: " + session.Output);
        await provider.ClearWarningsAsync(id, Ct);
        await provider.ClearWarningsAsync(id, Ct);
        var ls = await fx.SshAsync(status.Ssh!, "ls -A ~; echo end");
        Assert.True(ls.Succeeded, ls.Describe("ssh") + " " + ls.StdErr);
        Assert.DoesNotContain("EXPIRES_IN", ls.StdOut, StringComparison.Ordinal);
        Assert.False(session.Process.HasExited, "the session must still run");
    }

    [Fact]
    public async Task DeliverWarning_ReachesEveryTerminalOfTheContainer()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 0), Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");

        // `script` in the session allocates a second pty (as tmux or screen would). The warning goes to both terminals of the
        // container, wall-style: the outer one (sshd's) and the inner one (held by the shell behind `script`).
        using var session = await fx.StartPtySessionAsync(status.Ssh!, "script -qfc 'echo inner-up; sleep 60' /dev/null");
        Assert.True(await session.WaitForAsync("inner-up", TimeSpan.FromSeconds(20)), "pty session output: " + session.Output);

        await provider.DeliverWarningAsync(id, "EXPIRES_IN_5_MIN", "nested terminal", Ct);

        Assert.True(await session.WaitForAsync("*** gpu-dev: nested terminal ***", TimeSpan.FromSeconds(5)), "pty session output: " + session.Output);
        for (var i = 0; i < 40 && Count(session.Output) < 2; i++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.True(Count(session.Output) == 2, "pty session output: " + session.Output);
        static int Count(string output) => output.Split("*** gpu-dev: nested terminal ***").Length - 1;
    }

    [Fact]
    public async Task DeliverWarning_SymlinkInHome_NeverWritesOrRemovesItsTarget()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 0), Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");

        // A link planted in the home to a file only root may write (in the container: the keys sshd reads).
        var link = await fx.SshAsync(status.Ssh!, "ln -s /etc/gpu-dev/authorized_keys ~/EXPIRES_IN_7_MIN && ln -s /etc/gpu-dev/authorized_keys ~/EXPIRES_IN_9_MIN && echo linked");
        Assert.Equal("linked\n", link.StdOut);

        await provider.DeliverWarningAsync(id, "EXPIRES_IN_7_MIN", "seven", Ct);
        await provider.ClearWarningsAsync(id, Ct);
        var after = await fx.SshAsync(status.Ssh!, "cat /etc/gpu-dev/authorized_keys | wc -l; ls ~ | grep -c EXPIRES_IN || true");

        Assert.True(after.Succeeded, after.Describe("ssh") + " " + after.StdErr);
        Assert.Equal("1\n0\n", after.StdOut);
    }

    [Theory]
    [InlineData("../EXPIRES_IN_5_MIN", "x")]
    [InlineData("EXPIRES_IN_5_MIN/../../x", "x")]
    [InlineData("EXPIRES_IN__MIN", "x")]
    [InlineData("expires_in_5_min", "x")]
    [InlineData("EXPIRES_IN_5_MIN", "clear screen \u001b[2J")]
    [InlineData("EXPIRES_IN_5_MIN", "carriage\rreturn")]
    [InlineData("EXPIRES_IN_5_MIN", "c1 \u009b control")]
    public async Task DeliverWarning_InvalidFileNameOrMessage_Throws(string fileName, string message)
    {
        var provider = new LocalHostProvider(
            Microsoft.Extensions.Options.Options.Create(new LocalHostOptions { StateDir = "/var/lib/gpu-dev-tests/none" }),
            new LocalHostContext("/nonexistent"), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<LocalHostProvider>.Instance);

        await Assert.ThrowsAsync<ArgumentException>(() => provider.DeliverWarningAsync(LocalHostFixture.NewId(), fileName, message, Ct));
    }

    [Fact]
    public async Task DeliverWarning_MessageOver1KB_Throws_AbsentEnvironment_IsANoOp()
    {
        var provider = new LocalHostProvider(
            Microsoft.Extensions.Options.Options.Create(new LocalHostOptions { StateDir = "/var/lib/gpu-dev-tests/none" }),
            new LocalHostContext("/nonexistent"), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<LocalHostProvider>.Instance);
        var id = LocalHostFixture.NewId();

        await Assert.ThrowsAsync<ArgumentException>(() => provider.DeliverWarningAsync(id, "EXPIRES_IN_5_MIN", new string('x', 1025), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => provider.DeliverWarningAsync(id, "EXPIRES_IN_5_MIN", new string('é', 513), Ct));
        await provider.DeliverWarningAsync(id, "EXPIRES_IN_5_MIN", new string('x', 1024), Ct);
        await provider.ClearWarningsAsync(id, Ct);
    }

    [Fact]
    public async Task TwoRanks_DeliverWarning_EveryHomeAndTerminalOnRank1_ClearEveryHome()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var status = await provider.EnsureEnvironmentAsync(fx.MultinodeSpec(id, [0], [1]), Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        var nodes = status.NodeEndpoints!;
        using var session0 = await fx.StartPtySessionAsync(nodes[0], "echo rank0-up; sleep 60");
        using var session1 = await fx.StartPtySessionAsync(nodes[1], "echo rank1-up; sleep 60");
        Assert.True(await session0.WaitForAsync("rank0-up", TimeSpan.FromSeconds(20)), session0.Output);
        Assert.True(await session1.WaitForAsync("rank1-up", TimeSpan.FromSeconds(20)), session1.Output);

        await provider.DeliverWarningAsync(id, "EXPIRES_IN_15_MIN", "fifteen minutes left", Ct);

        Assert.True(await session0.WaitForAsync("*** gpu-dev: fifteen minutes left ***", TimeSpan.FromSeconds(5)), session0.Output);
        Assert.True(await session1.WaitForAsync("*** gpu-dev: fifteen minutes left ***", TimeSpan.FromSeconds(5)), session1.Output);
        foreach (var node in nodes)
        {
            var cat = await fx.SshAsync(node, "cat ~/EXPIRES_IN_15_MIN");
            Assert.Equal("fifteen minutes left\n", cat.StdOut);
        }

        await provider.ClearWarningsAsync(id, Ct);
        foreach (var node in nodes)
        {
            var ls = await fx.SshAsync(node, "ls -A ~; echo end");
            Assert.True(ls.Succeeded, ls.StdErr);
            Assert.DoesNotContain("EXPIRES_IN", ls.StdOut, StringComparison.Ordinal);
        }
    }
}

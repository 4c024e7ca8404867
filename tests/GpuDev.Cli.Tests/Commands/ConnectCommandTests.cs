using System.Net;

namespace GpuDev.Cli.Tests.Commands;

public sealed class ConnectCommandTests
{
    private const string Id = "abcdef1234567890abcdef1234567890";

    private static string FakeSsh(CliHarness cli)
    {
        var script = Path.Combine(cli.TempDir, "fake-ssh.sh");
        var argsFile = Path.Combine(cli.TempDir, "ssh-args.txt");
        File.WriteAllText(script, $"#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > '{argsFile}'\nexit 7\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        cli.Environment.Variables[EnvVars.Ssh] = script;
        return argsFile;
    }

    [Fact]
    public async Task Execute_ActiveWithHostKey_RunsSshWithPinnedKnownHostsAndReturnsItsExitCode()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var cli = new CliHarness();
        var argsFile = FakeSsh(cli);
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b => b.HostKey = "ssh-ed25519 AAAAKEY")));

        var exit = await cli.RunAsync("connect", "abcd", "--", "nvidia-smi", "-L");

        Assert.Equal(7, exit);
        var knownHosts = Path.Combine(cli.TempDir, "home", ".gpu-dev", $"{Id}.known_hosts");
        Assert.Equal("[10.0.0.5]:30001 ssh-ed25519 AAAAKEY\n", File.ReadAllText(knownHosts));
        var args = File.ReadAllLines(argsFile);
        Assert.Equal(["-p", "30001", "-o", $"UserKnownHostsFile={knownHosts}", "-o", "StrictHostKeyChecking=yes", "dev@10.0.0.5", "nvidia-smi", "-L"], args);
    }

    [Fact]
    public async Task Execute_NoIdNoHostKey_UsesOnlyActiveReservationAndAcceptNew()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var cli = new CliHarness();
        var argsFile = FakeSsh(cli);
        cli.Http.On("GET", "/api/v1/reservations", HttpStatusCode.OK,
            CliHarness.Json([CliHarness.Reservation("queued", "11111111111111111111111111111111"), CliHarness.Reservation("active")]));

        var exit = await cli.RunAsync("connect");

        Assert.Equal(7, exit);
        Assert.Equal(["-p", "30001", "-o", "StrictHostKeyChecking=accept-new", "dev@10.0.0.5"], File.ReadAllLines(argsFile));
    }

    [Fact]
    public async Task Execute_NotActive_ErrorNamesStatus()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("queued")));

        var exit = await cli.RunAsync("connect", "abcd");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: reservation abcdef12 is queued, not active", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_SeveralActiveWithoutTty_ErrorListsIds()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", "/api/v1/reservations", HttpStatusCode.OK,
            CliHarness.Json([CliHarness.Reservation("active", "22222222222222222222222222222222"), CliHarness.Reservation("active")]));

        var exit = await cli.RunAsync("connect");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: you have 2 active reservations; name one: 22222222, abcdef12", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_MultinodeNode1_ConnectsToRank1AndPinsEveryRanksHostKey()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var cli = new CliHarness();
        var argsFile = FakeSsh(cli);
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(ShowCommandTests.Multinode("ssh-ed25519 KEY")));

        var exit = await cli.RunAsync("connect", "abcd", "--node", "1", "--", "hostname");

        Assert.Equal(7, exit);
        var knownHosts = Path.Combine(cli.TempDir, "home", ".gpu-dev", $"{Id}.known_hosts");
        Assert.Equal("[127.0.0.1]:31001 ssh-ed25519 KEY0\n[127.0.0.1]:31002 ssh-ed25519 KEY1\n", File.ReadAllText(knownHosts));
        Assert.Equal(["-p", "31002", "-o", $"UserKnownHostsFile={knownHosts}", "-o", "StrictHostKeyChecking=yes", "dev@127.0.0.1", "hostname"],
            File.ReadAllLines(argsFile));
    }

    [Fact]
    public async Task Execute_MultinodeWithoutNodeNonTty_ConnectsToRank0()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var cli = new CliHarness(tty: false);
        var argsFile = FakeSsh(cli);
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(ShowCommandTests.Multinode()));

        var exit = await cli.RunAsync("connect", "abcd");

        Assert.Equal(7, exit);
        Assert.Equal(["-p", "31001", "-o", "StrictHostKeyChecking=accept-new", "dev@127.0.0.1"], File.ReadAllLines(argsFile));
        Assert.Empty(cli.Console.Questions);
    }

    [Fact]
    public async Task Execute_MultinodeWithoutNodeOnTty_AsksWhichRank()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var cli = new CliHarness(tty: true);
        var argsFile = FakeSsh(cli);
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(ShowCommandTests.Multinode()));
        cli.Console.Answers.Enqueue("rank 1");

        var exit = await cli.RunAsync("connect", "abcd");

        Assert.Equal(7, exit);
        Assert.Equal("Connect to which node?", Assert.Single(cli.Console.Questions));
        Assert.Equal("31002", File.ReadAllLines(argsFile)[1]);
    }

    [Fact]
    public async Task Execute_UnknownRank_OneLineErrorListingValidRanks()
    {
        using var cli = new CliHarness();
        var argsFile = FakeSsh(cli);
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(ShowCommandTests.Multinode()));

        var exit = await cli.RunAsync("connect", "abcd", "--node", "5");

        Assert.Equal(1, exit);
        Assert.Equal("error: reservation abcdef12 has no node of rank 5; valid ranks: 0, 1\n", cli.Console.StdErr);
        Assert.False(File.Exists(argsFile));
    }

    [Fact]
    public async Task Execute_NodeOptionBeforeId_IdStillParsed()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        using var cli = new CliHarness();
        var argsFile = FakeSsh(cli);
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(ShowCommandTests.Multinode()));

        var exit = await cli.RunAsync("connect", "--node=1", "abcd");

        Assert.Equal(7, exit);
        Assert.Equal(["-p", "31002", "-o", "StrictHostKeyChecking=accept-new", "dev@127.0.0.1"], File.ReadAllLines(argsFile));
    }
}

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
}

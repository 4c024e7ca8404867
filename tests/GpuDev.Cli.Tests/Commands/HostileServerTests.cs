using System.Net;

namespace GpuDev.Cli.Tests.Commands;

/// <summary>A hostile (or broken) server sends values meant to become ssh options, paths or arguments: the CLI writes nothing
/// it did not intend into its ssh files, starts no ssh with them, and says why in one line.</summary>
public sealed class HostileServerTests
{
    private const string Id = "abcdef1234567890abcdef1234567890";

    public static TheoryData<string, string?, string?, string?, int> Hostile() => new()
    {
        { "host injects options", "h\nHost *\n  ProxyCommand touch /tmp/pwned", null, null, 30001 },
        { "host with a space", "10.0.0.5 -oProxyCommand=x", null, null, 30001 },
        { "user is an option", null, "-oProxyCommand=touch /tmp/pwned", null, 30001 },
        { "user with newline", null, "dev\nLocalCommand x", null, 30001 },
        { "host key of two lines", null, null, "ssh-ed25519 AAAA\n* ssh-ed25519 BBBB", 30001 },
        { "port out of range", null, null, null, 70000 },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task Connect_HostileEndpoint_NothingWrittenNoSshStartedOneLineError(string what, string? host, string? user, string? hostKey, int port)
    {
        using var cli = new CliHarness();
        var marker = Path.Combine(cli.TempDir, "ssh-ran");
        var script = Path.Combine(cli.TempDir, "fake-ssh.sh");
        File.WriteAllText(script, $"#!/bin/sh\ntouch '{marker}'\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        cli.Environment.Variables[EnvVars.Ssh] = script;
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b =>
        {
            b.SshHost = host ?? b.SshHost;
            b.SshUser = user ?? b.SshUser;
            b.HostKey = hostKey ?? "ssh-ed25519 AAAAKEY";
            b.SshPort = port;
        })));

        var exit = await cli.RunAsync("connect", "abcd");

        Assert.Equal(1, exit);
        Assert.False(File.Exists(marker), what + ": ssh must not start");
        Assert.Contains("the server sent an invalid", cli.Console.StdErr, StringComparison.Ordinal);
        var dir = Path.Combine(cli.TempDir, "home", ".gpu-dev");
        Assert.True(!Directory.Exists(dir) || Directory.GetFiles(dir).Length == 0, what + ": nothing may be written");
    }

    [Fact]
    public async Task List_HostileId_NoFileOutsideTheDirectoryAndAWarning()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", "/api/v1/reservations", HttpStatusCode.OK, CliHarness.Json([CliHarness.Reservation("active", "../../../../tmp/gpu-dev-escape")]));

        var exit = await cli.RunAsync("list");

        Assert.Equal(0, exit);
        Assert.Contains("warning: not writing ssh files: the server sent an invalid reservation id", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists("/tmp/gpu-dev-escape-sshconfig"));
        Assert.False(File.Exists("/tmp/gpu-dev-escape.known_hosts"));
    }

    [Fact]
    public async Task PlainHttpToAnotherMachine_Refused_UnlessInsecureIsSet_LoopbackAllowed()
    {
        using var cli = new CliHarness();
        cli.Environment.Variables.Remove(EnvVars.Insecure);
        cli.Http.On("GET", "/api/v1/reservations", HttpStatusCode.OK, CliHarness.Json([]));

        var refused = await cli.RunAsync("list");
        var error = cli.Console.StdErr;
        var badValue = await cli.RunAsync("config", "set", "insecure", "yes");
        var set = await cli.RunAsync("config", "set", "insecure", "true");
        var allowed = await cli.RunAsync("list");
        await cli.RunAsync("config", "set", "insecure", "false");
        cli.Environment.Variables[EnvVars.Server] = "http://127.0.0.1:8484";
        var loopback = await cli.RunAsync("list");

        Assert.Equal(1, refused);
        Assert.Contains("refusing to send your token in clear to http://gpu-dev.test:8484", error, StringComparison.Ordinal);
        Assert.Contains("gpu-dev config set insecure true", error, StringComparison.Ordinal);
        Assert.Equal(1, badValue);
        Assert.Equal(0, set);
        Assert.Equal(0, allowed);
        Assert.Equal(0, loopback);
    }

    [Fact]
    public async Task Show_ControlCharactersInNamesAndReasons_NeverReachTheTerminal()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("failed", configure: b =>
        {
            b.Name = "n\u001b]0;owned\u0007";
            b.StatusReason = "build failed\u001b[2J\rclear";
        })));

        var exit = await cli.RunAsync("show", "abcd");

        Assert.Equal(0, exit);
        Assert.DoesNotContain('\u001b', cli.Console.StdOut);
        Assert.DoesNotContain('\u0007', cli.Console.StdOut);
        Assert.Contains("build failed [2J clear", cli.Console.StdOut, StringComparison.Ordinal);
    }
}

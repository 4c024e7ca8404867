using System.Net;
using System.Text.Json;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

/// <summary>S2 (per-reservation ssh config files), S3 (IDE links), L2/L4/L5 in show/list, reserve --jupyter, cancel pick list.</summary>
public sealed class SshIdeAndLifecycleTests
{
    private const string Id = "abcdef1234567890abcdef1234567890";
    private const string Path = "/api/v1/reservations";
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static string ConfigFile(CliHarness cli, string id = Id) => System.IO.Path.Combine(cli.GpuDevDir, $"{id}-sshconfig");

    private static string KnownHostsFile(CliHarness cli, string id = Id) => System.IO.Path.Combine(cli.GpuDevDir, $"{id}.known_hosts");

    [Fact]
    public async Task Show_Active_WritesSshConfigAndKnownHostsPrivate()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", $"{Path}/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b => b.HostKey = "ssh-ed25519 AAAAKEY")));

        var exit = await cli.RunAsync("show", "abcd");

        Assert.Equal(0, exit);
        var config = File.ReadAllText(ConfigFile(cli));
        Assert.Contains(
            "Host gpu-dev-abcdef12\n    HostName 10.0.0.5\n    Port 30001\n    User dev\n"
            + $"    UserKnownHostsFile ~/.gpu-dev/{Id}.known_hosts\n    StrictHostKeyChecking yes\n",
            config, StringComparison.Ordinal);
        Assert.Contains("    ForwardAgent yes\n", config, StringComparison.Ordinal);
        Assert.Contains("    IdentitiesOnly no\n", config, StringComparison.Ordinal);
        Assert.Contains("# IdentitiesOnly no: ", config, StringComparison.Ordinal);
        Assert.Equal("[10.0.0.5]:30001 ssh-ed25519 AAAAKEY\n", File.ReadAllText(KnownHostsFile(cli)));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(Mode0600, File.GetUnixFileMode(ConfigFile(cli)));
            Assert.Equal(Mode0600, File.GetUnixFileMode(KnownHostsFile(cli)));
            Assert.Equal(Mode0700, File.GetUnixFileMode(cli.GpuDevDir));
        }

        Assert.Empty(Directory.GetFiles(cli.GpuDevDir, ".*.tmp"));
    }

    [Fact]
    public async Task Show_Active_ConfigParsedByOpenSshIncludingThroughInclude()
    {
        using var cli = new CliHarness();
        if (OperatingSystem.IsWindows() || !File.Exists("/usr/bin/ssh"))
        {
            TestSkips.Skip("OpenSSH client (/usr/bin/ssh) is not installed");
        }

        cli.Http.On("GET", $"{Path}/abcd", HttpStatusCode.OK, CliHarness.Json(ShowCommandTests.Multinode("ssh-ed25519 KEY")));
        Assert.Equal(0, await cli.RunAsync("show", "abcd"));
        Assert.Equal(0, await cli.RunAsync("config", "ssh-include", "enable"));

        // ssh -G prints the effective options for a host after reading the config (and its Include) without connecting.
        var start = new System.Diagnostics.ProcessStartInfo("/usr/bin/ssh") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-G", "-F", System.IO.Path.Combine(cli.Home, ".ssh", "config"), "gpu-dev-abcdef12-1" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["HOME"] = cli.Home;
        using var ssh = System.Diagnostics.Process.Start(start)!;
        var output = await ssh.StandardOutput.ReadToEndAsync();
        var error = await ssh.StandardError.ReadToEndAsync();
        await ssh.WaitForExitAsync();

        Assert.True(ssh.ExitCode == 0, error);
        var lines = output.Split('\n');
        Assert.Contains("hostname 127.0.0.1", lines);
        Assert.Contains("port 31002", lines);
        Assert.Contains("user dev", lines);
        Assert.Contains("stricthostkeychecking true", lines);
        Assert.Contains("forwardagent yes", lines);
        Assert.Contains("identitiesonly no", lines);
        Assert.Contains(lines, l => l.StartsWith("userknownhostsfile ", StringComparison.Ordinal) && l.EndsWith($"/.gpu-dev/{Id}.known_hosts", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Show_Multinode_AliasPerRankAndEveryHostKey()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", $"{Path}/abcd", HttpStatusCode.OK, CliHarness.Json(ShowCommandTests.Multinode("ssh-ed25519 KEY")));

        var exit = await cli.RunAsync("show", "abcd");

        Assert.Equal(0, exit);
        var config = File.ReadAllText(ConfigFile(cli));
        Assert.Contains("Host gpu-dev-abcdef12\n    HostName 127.0.0.1\n    Port 31001\n", config, StringComparison.Ordinal);
        Assert.Contains("Host gpu-dev-abcdef12-0\n    HostName 127.0.0.1\n    Port 31001\n", config, StringComparison.Ordinal);
        Assert.Contains("Host gpu-dev-abcdef12-1\n    HostName 127.0.0.1\n    Port 31002\n", config, StringComparison.Ordinal);
        Assert.Equal("[127.0.0.1]:31001 ssh-ed25519 KEY0\n[127.0.0.1]:31002 ssh-ed25519 KEY1\n", File.ReadAllText(KnownHostsFile(cli)));
        Assert.Contains("ssh gpu-dev-abcdef12-1", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_NoHostKey_ConfigAcceptsNewIntoItsOwnKnownHosts()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", $"{Path}/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));

        Assert.Equal(0, await cli.RunAsync("show", "abcd"));

        var config = File.ReadAllText(ConfigFile(cli));
        Assert.Contains("    StrictHostKeyChecking accept-new\n", config, StringComparison.Ordinal);
        Assert.DoesNotContain("StrictHostKeyChecking yes", config, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_GpuDevHomeOverride_FilesThereWithAbsolutePaths()
    {
        using var cli = new CliHarness();
        var dir = System.IO.Path.Combine(cli.TempDir, "gd");
        cli.Environment.Variables[EnvVars.GpuDevHome] = dir;
        cli.Http.On("GET", $"{Path}/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b => b.HostKey = "ssh-ed25519 K")));

        Assert.Equal(0, await cli.RunAsync("show", "abcd"));

        var config = File.ReadAllText(System.IO.Path.Combine(dir, $"{Id}-sshconfig"));
        Assert.Contains($"    UserKnownHostsFile {dir}/{Id}.known_hosts\n", config, StringComparison.Ordinal);
        Assert.False(Directory.Exists(cli.GpuDevDir));
    }

    [Fact]
    public async Task ListThenEnded_FilesWrittenThenRemoved()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", Path, HttpStatusCode.OK, CliHarness.Json([CliHarness.Reservation("active", configure: b => b.HostKey = "ssh-ed25519 K")]))
            .On("GET", Path, HttpStatusCode.OK, CliHarness.Json([CliHarness.Reservation("expired")]));

        Assert.Equal(0, await cli.RunAsync("list"));
        Assert.True(File.Exists(ConfigFile(cli)));
        Assert.True(File.Exists(KnownHostsFile(cli)));

        Assert.Equal(0, await cli.RunAsync("list"));
        Assert.False(File.Exists(ConfigFile(cli)));
        Assert.False(File.Exists(KnownHostsFile(cli)));
    }

    [Fact]
    public async Task Show_Ended_RemovesFiles()
    {
        using var cli = new CliHarness();
        Directory.CreateDirectory(cli.GpuDevDir);
        File.WriteAllText(ConfigFile(cli), "old");
        File.WriteAllText(KnownHostsFile(cli), "old");
        cli.Http.On("GET", $"{Path}/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("cancelled")));

        Assert.Equal(0, await cli.RunAsync("show", "abcd"));

        Assert.False(File.Exists(ConfigFile(cli)));
        Assert.False(File.Exists(KnownHostsFile(cli)));
    }

    [Fact]
    public async Task Cancel_WithYes_RemovesFilesRightAway()
    {
        using var cli = new CliHarness();
        Directory.CreateDirectory(cli.GpuDevDir);
        File.WriteAllText(ConfigFile(cli), "x");
        File.WriteAllText(KnownHostsFile(cli), "x");
        File.WriteAllText(ConfigFile(cli, "11111111111111111111111111111111"), "other");
        cli.Http.On("DELETE", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("cancelled")));

        Assert.Equal(0, await cli.RunAsync("cancel", "abcdef12", "--yes"));

        Assert.False(File.Exists(ConfigFile(cli)));
        Assert.False(File.Exists(KnownHostsFile(cli)));
        Assert.True(File.Exists(ConfigFile(cli, "11111111111111111111111111111111")));
    }

    [Fact]
    public async Task Show_ActiveTty_PrintsAliasVsCodeCursorAndIncludeHint()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Path}/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));

        Assert.Equal(0, await cli.RunAsync("show", "abcd"));

        var output = cli.Console.StdOut;
        Assert.Contains("SSH:         ssh -p 30001 dev@10.0.0.5\n", output, StringComparison.Ordinal);
        Assert.Contains("Alias:       ssh gpu-dev-abcdef12\n", output, StringComparison.Ordinal);
        Assert.Contains("VS Code:     vscode://vscode-remote/ssh-remote+gpu-dev-abcdef12/home/dev\n", output, StringComparison.Ordinal);
        Assert.Contains("             code --remote ssh-remote+gpu-dev-abcdef12 /home/dev\n", output, StringComparison.Ordinal);
        Assert.Contains("Cursor:      cursor --remote ssh-remote+gpu-dev-abcdef12 /home/dev\n", output, StringComparison.Ordinal);
        Assert.Contains("Edit:        gpu-dev edit abcdef12 --extend", output, StringComparison.Ordinal);
        Assert.Contains("Cancel:      gpu-dev cancel abcdef12\n", output, StringComparison.Ordinal);
        Assert.Equal("hint: run `gpu-dev config ssh-include enable` for the alias to work\n", cli.Console.StdErr);
    }

    [Fact]
    public async Task Show_IncludeEnabled_NoHint()
    {
        using var cli = new CliHarness(tty: true);
        Assert.Equal(0, await cli.RunAsync("config", "ssh-include", "enable"));
        ((StringWriter)cli.Console.Error).GetStringBuilder().Clear();
        cli.Http.On("GET", $"{Path}/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));

        Assert.Equal(0, await cli.RunAsync("show", "abcd"));

        Assert.Empty(cli.Console.StdErr);
    }

    [Fact]
    public async Task Show_JupyterExtendedUsersWarnings_AllShown()
    {
        using var cli = new CliHarness(tty: true);
        var warnedAt = new DateTimeOffset(2030, 1, 2, 12, 55, 0, TimeSpan.Zero);
        cli.Http.On("GET", $"{Path}/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b =>
        {
            b.JupyterUrl = "http://10.0.0.5:30002/lab?token=t0k";
            b.ExtendedHours = 2;
            b.AddedUsers = ["bob", "carol"];
            b.Warnings = [new WarningDto(warnedAt, 5, "Reservation abcdef12 expires in 5 minutes")];
        })));

        Assert.Equal(0, await cli.RunAsync("show", "abcd"));

        var output = cli.Console.StdOut;
        Assert.Contains("Jupyter:     http://10.0.0.5:30002/lab?token=t0k\n", output, StringComparison.Ordinal);
        Assert.Contains("Extended:    +2h\n", output, StringComparison.Ordinal);
        Assert.Contains("Users:       alice (owner), added: bob, carol\n", output, StringComparison.Ordinal);
        Assert.Contains($"Warning:     ⚠ expires in 5 minutes (warned {Format.LocalTime(warnedAt, cli.Now)})\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_NonTty_WarningTimeRfc3339()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", $"{Path}/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b =>
            b.Warnings = [new WarningDto(new DateTimeOffset(2030, 1, 2, 12, 35, 0, TimeSpan.Zero), 30, "x")])));

        Assert.Equal(0, await cli.RunAsync("show", "abcd"));

        Assert.Contains("Warning:     ⚠ expires in 30 minutes (warned 2030-01-02T12:35:00Z)\n", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_AddedUserView_NoEditOrCancelHints()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Path}/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b =>
        {
            b.CanEdit = false;
            b.AddedUsers = ["me"];
        })));

        Assert.Equal(0, await cli.RunAsync("show", "abcd"));

        var output = cli.Console.StdOut;
        Assert.DoesNotContain("gpu-dev edit", output, StringComparison.Ordinal);
        Assert.DoesNotContain("gpu-dev cancel", output, StringComparison.Ordinal);
        Assert.Contains("Access:      you were added by alice", output, StringComparison.Ordinal);
        Assert.Contains("gpu-dev connect abcdef12", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_TtyWithWarning_ShowsMarkerOnlyForWarnedRunningOnes()
    {
        using var cli = new CliHarness(tty: true);
        var warning = new WarningDto(cli.Now, 15, "x");
        cli.Http.On("GET", Path, HttpStatusCode.OK, CliHarness.Json(
        [
            CliHarness.Reservation("active", configure: b => b.Warnings = [warning]),
            CliHarness.Reservation("active", "11111111111111111111111111111111"),
        ]));

        Assert.Equal(0, await cli.RunAsync("list"));

        var lines = cli.Console.StdOut.Split('\n');
        Assert.Contains("⚠", lines.Single(l => l.StartsWith("abcdef12", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.DoesNotContain("⚠", lines.Single(l => l.StartsWith("11111111", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_NonTtyWithWarning_NoMarker()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", Path, HttpStatusCode.OK, CliHarness.Json([CliHarness.Reservation("active", configure: b => b.Warnings = [new WarningDto(cli.Now, 5, "x")])]));

        Assert.Equal(0, await cli.RunAsync("list"));

        Assert.DoesNotContain("⚠", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reserve_Jupyter_SentAndActiveWritesSshFilesAndPrintsAlias()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        cli.Http.On("GET", $"{Path}/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b =>
        {
            b.HostKey = "ssh-ed25519 K";
            b.JupyterUrl = "http://10.0.0.5:30002/lab?token=t";
        })));

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-g", "1", "-h", "1", "--jupyter");

        Assert.Equal(0, exit);
        using var body = JsonDocument.Parse(cli.Http.To("POST", Path).Single().Body!);
        Assert.True(body.RootElement.GetProperty("jupyter").GetBoolean());
        Assert.True(File.Exists(ConfigFile(cli)));
        Assert.Equal("[10.0.0.5]:30001 ssh-ed25519 K\n", File.ReadAllText(KnownHostsFile(cli)));
        Assert.Contains("Alias:    ssh gpu-dev-abcdef12\n", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("Jupyter:  http://10.0.0.5:30002/lab?token=t\n", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("hint: run `gpu-dev config ssh-include enable`", cli.Console.StdErr, StringComparison.Ordinal);
    }

    private const string Catalog = """
        {"types":[
          {"name":"t4","instanceType":"g4dn","gpusPerNode":4,"memoryGbPerGpu":16,"description":"T4","cpuOnly":false},
          {"name":"h100","instanceType":"p5","gpusPerNode":8,"memoryGbPerGpu":80,"description":"H100","cpuOnly":false},
          {"name":"a100","instanceType":"p4d","gpusPerNode":8,"memoryGbPerGpu":40,"description":"A100","cpuOnly":false},
          {"name":"cpu-x86","instanceType":"c7i","gpusPerNode":0,"memoryGbPerGpu":0,"description":"CPU only","cpuOnly":true}],
         "allowedGpuCounts":[1,2,4,8,12,16,20,24,32,40,48],"minHours":0.0833,"maxHours":24}
        """;

    private const string Availability = """
        {"at":"2030-01-02T10:00:00Z","types":[
          {"gpuType":"t4","gpusPerNode":4,"nodes":1,"total":4,"free":4,"largestFreeBlock":4},
          {"gpuType":"h100","gpusPerNode":8,"nodes":2,"total":16,"free":6,"largestFreeBlock":4},
          {"gpuType":"cpu-x86","gpusPerNode":0,"nodes":2,"total":0,"free":0,"largestFreeBlock":0}]}
        """;

    [Fact]
    public async Task Reserve_InteractiveWithAvailability_LiveCountsHidesMissingTypesOffersMultinode()
    {
        using var cli = new CliHarness(tty: true);
        var selects = new List<IReadOnlyList<string>>();
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK, Catalog);
        cli.Http.On("GET", "/api/v1/availability", HttpStatusCode.OK, Availability);
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        foreach (var answer in new[] { "h100", "16", "2", "y", "" })
        {
            cli.Console.Answers.Enqueue(answer);
        }

        cli.Console.OnSelect = selects.Add;

        var exit = await cli.RunAsync("reserve", "--no-wait");

        Assert.Equal(0, exit);
        var types = selects[0];
        Assert.Equal(3, types.Count);
        Assert.Contains(types, t => t.StartsWith("h100   ", StringComparison.Ordinal) && t.Contains("6/16 free", StringComparison.Ordinal));
        Assert.Contains(types, t => t.StartsWith("cpu-x86", StringComparison.Ordinal) && t.Contains("2 nodes", StringComparison.Ordinal));
        Assert.DoesNotContain(types, t => t.StartsWith("a100", StringComparison.Ordinal));
        Assert.Equal(["1  (free now)", "2  (free now)", "4  (free now)", "8  (queues)", "16  (2 nodes, distributed)"], selects[1]);
        using var body = JsonDocument.Parse(cli.Http.To("POST", Path).Single().Body!);
        Assert.Equal("h100", body.RootElement.GetProperty("gpuType").GetString());
        Assert.Equal(16, body.RootElement.GetProperty("gpuCount").GetInt32());
        Assert.True(body.RootElement.GetProperty("distributed").GetBoolean());
        Assert.Equal(2, body.RootElement.GetProperty("hours").GetDouble());
        Assert.True(body.RootElement.GetProperty("jupyter").GetBoolean());
        Assert.Equal(JsonValueKind.Null, body.RootElement.GetProperty("name").ValueKind);
        Assert.Contains("Enable Jupyter Lab?", cli.Console.Questions);
    }

    [Fact]
    public async Task Reserve_InteractiveHoursOutOfRange_AsksAgain()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK, Catalog);
        cli.Http.On("GET", "/api/v1/availability", HttpStatusCode.OK, Availability);
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        foreach (var answer in new[] { "30", "0.01", "0.5", "n", "x" })
        {
            cli.Console.Answers.Enqueue(answer);
        }

        var exit = await cli.RunAsync("reserve", "-t", "t4", "-g", "1", "--no-wait");

        Assert.Equal(0, exit);
        Assert.Equal(2, cli.Console.StdErr.Split('\n').Count(l => l.StartsWith("hours must be a number between 0.0833 and 24", StringComparison.Ordinal)));
        using var body = JsonDocument.Parse(cli.Http.To("POST", Path).Single().Body!);
        Assert.Equal(0.5, body.RootElement.GetProperty("hours").GetDouble());
        Assert.False(body.RootElement.GetProperty("jupyter").GetBoolean());
    }

    [Fact]
    public async Task Reserve_NoInteractiveOnTty_NoPromptsErrorNamesGpuType()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK, Catalog);

        var exit = await cli.RunAsync("reserve", "--no-interactive");

        Assert.Equal(1, exit);
        Assert.Empty(cli.Console.Questions);
        Assert.StartsWith("error: --gpu-type is required", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_TtyPickCancelAll_ConfirmsThenDeletesEach()
    {
        using var cli = new CliHarness(tty: true);
        const string Other = "11111111111111111111111111111111";
        cli.Http.On("GET", Path, HttpStatusCode.OK, CliHarness.Json([CliHarness.Reservation("active"), CliHarness.Reservation("queued", Other)]));
        cli.Http.On("DELETE", $"{Path}/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("cancelled")));
        cli.Http.On("DELETE", $"{Path}/{Other}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("cancelled", Other)));
        cli.Console.Answers.Enqueue("cancel all");
        cli.Console.Answers.Enqueue("y");

        var exit = await cli.RunAsync("cancel");

        Assert.Equal(0, exit);
        Assert.Equal(["Cancel which reservation?", "Cancel 2 reservations (abcdef12, 11111111)?"], cli.Console.Questions);
        Assert.Equal(2, cli.Http.To("DELETE", Path).Count());
    }

    [Fact]
    public async Task Cancel_AllOnTtyDeclined_NothingDeletedExit2()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Path, HttpStatusCode.OK, CliHarness.Json([CliHarness.Reservation("active")]));
        cli.Console.Answers.Enqueue("n");

        var exit = await cli.RunAsync("cancel", "--all");

        Assert.Equal(2, exit);
        Assert.Empty(cli.Http.To("DELETE", Path));
    }

    [Fact]
    public async Task Cancel_AllWithoutTtyOrYes_ErrorNamesYes()
    {
        using var cli = new CliHarness(tty: false);

        var exit = await cli.RunAsync("cancel", "--all");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: --yes is required", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Cancel_AllSkipsReservationsOnlyAddedTo()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", Path, HttpStatusCode.OK, CliHarness.Json([CliHarness.Reservation("active", configure: b => b.CanEdit = false)]));

        var exit = await cli.RunAsync("cancel", "--all", "--yes");

        Assert.Equal(0, exit);
        Assert.Empty(cli.Http.To("DELETE", Path));
    }
}

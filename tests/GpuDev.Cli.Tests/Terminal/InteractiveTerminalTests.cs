using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Terminal;

/// <summary>The interactive flows through a real pseudo-terminal: the built gpu-dev binary runs inside tmux against
/// <see cref="FakeHttpServer"/>; the test presses arrow keys and Enter and reads the screen.</summary>
public sealed class InteractiveTerminalTests : IDisposable
{
    private const string Id = "abcdef1234567890abcdef1234567890";
    private const string Other = "11111111111111111111111111111111";

    private readonly string _temp = Directory.CreateTempSubdirectory("gpu-dev-pty-").FullName;
    private readonly FakeHttpServer _server = new();

    public void Dispose()
    {
        _server.Dispose();
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private string Home => Path.Combine(_temp, "home");

    private static void SkipWithoutTmux()
    {
        if (OperatingSystem.IsWindows() || !TmuxSession.IsAvailable)
        {
            TestSkips.Skip("tmux is not installed (apt-get install -y tmux); these tests drive gpu-dev through a real pseudo-terminal");
        }
    }

    /// <summary>The gpu-dev apphost copied next to the tests (the CLI project is referenced), run with this runtime.</summary>
    private string Command(string args)
    {
        var binary = Path.Combine(AppContext.BaseDirectory, OperatingSystem.IsWindows() ? "gpu-dev.exe" : "gpu-dev");
        Assert.True(File.Exists(binary), $"the gpu-dev binary is missing at {binary}; build the solution first");
        var dotnetRoot = Environment.GetEnvironmentVariable("DOTNET_ROOT")
            ?? Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));
        Directory.CreateDirectory(Home);
        return $"env -u CI -u GPU_DEV_DEBUG -u GPU_DEV_HOME HOME='{Home}' GPU_DEV_CONFIG_DIR='{Path.Combine(_temp, "config")}' "
            + $"GPU_DEV_SERVER='{_server.Url}' GPU_DEV_TOKEN=tok_pty DOTNET_ROOT='{dotnetRoot}' NO_COLOR=1 TERM=xterm-256color '{binary}' {args}";
    }

    private static string Json(ReservationDto r) => JsonSerializer.Serialize(r, GpuDevJsonContext.Default.ReservationDto);

    private static string Json(List<ReservationDto> r) => JsonSerializer.Serialize(r, GpuDevJsonContext.Default.ListReservationDto);

    [Fact]
    public async Task Reserve_ArrowsAndEnter_PostsChosenTypeCountHoursJupyterAndWritesSshConfig()
    {
        SkipWithoutTmux();
        _server
            .On("GET", "/api/v1/gpu-types", """
                {"types":[{"name":"t4","instanceType":"g4dn","gpusPerNode":4,"memoryGbPerGpu":16,"description":"T4","cpuOnly":false},
                          {"name":"h100","instanceType":"p5","gpusPerNode":8,"memoryGbPerGpu":80,"description":"H100","cpuOnly":false},
                          {"name":"a100","instanceType":"p4d","gpusPerNode":8,"memoryGbPerGpu":40,"description":"A100","cpuOnly":false}],
                 "allowedGpuCounts":[1,2,4,8,12,16,20,24,32,40,48],"minHours":0.0833,"maxHours":24}
                """)
            .On("GET", "/api/v1/availability", """
                {"at":"2030-01-02T10:00:00Z","types":[
                  {"gpuType":"t4","gpusPerNode":4,"nodes":1,"total":4,"free":4,"largestFreeBlock":4},
                  {"gpuType":"h100","gpusPerNode":8,"nodes":2,"total":16,"free":6,"largestFreeBlock":4}]}
                """)
            .On("POST", "/api/v1/reservations", Json(CliHarness.Reservation("active", configure: WithJupyter)))
            .On("GET", $"/api/v1/reservations/{Id}", Json(CliHarness.Reservation("active", configure: WithJupyter)));
        using var tmux = new TmuxSession(Command("reserve"));
        static void WithJupyter(ReservationBuilder b)
        {
            b.HostKey = "ssh-ed25519 AAAAPTY";
            b.JupyterUrl = "http://10.0.0.5:30002/lab?token=t";
        }

        var screen = await tmux.WaitForAsync("GPU type?");
        Assert.Contains("6/16 free", screen, StringComparison.Ordinal);
        Assert.Contains("4/4 free", screen, StringComparison.Ordinal);
        Assert.DoesNotContain("a100", screen, StringComparison.Ordinal);
        tmux.Keys("Down");
        await tmux.WaitForAsync("> h100");
        tmux.Keys("Enter");

        await tmux.WaitForAsync("How many GPUs?");
        tmux.Keys("Down");
        await tmux.WaitForAsync("> 2 ");
        tmux.Keys("Down");
        await tmux.WaitForAsync("> 4 ");
        tmux.Keys("Enter");

        await tmux.WaitForAsync("Hours (");
        tmux.Type("2.5");
        tmux.Keys("Enter");
        await tmux.WaitForAsync("Enable Jupyter Lab?");
        tmux.Type("y");
        tmux.Keys("Enter");
        await tmux.WaitForAsync("Name (optional)?");
        tmux.Type("pty-test");
        tmux.Keys("Enter");

        screen = await tmux.WaitForAsync("[exit ");
        Assert.Contains("[exit 0]", screen, StringComparison.Ordinal);
        Assert.Contains("ssh gpu-dev-abcdef12", screen, StringComparison.Ordinal);
        var post = Assert.Single(_server.Requests, r => r.Method == HttpMethod.Post);
        using var body = JsonDocument.Parse(post.Body!);
        Assert.Equal("h100", body.RootElement.GetProperty("gpuType").GetString());
        Assert.Equal(4, body.RootElement.GetProperty("gpuCount").GetInt32());
        Assert.Equal(2.5, body.RootElement.GetProperty("hours").GetDouble());
        Assert.True(body.RootElement.GetProperty("jupyter").GetBoolean());
        Assert.Equal("pty-test", body.RootElement.GetProperty("name").GetString());
        Assert.Contains("Host gpu-dev-abcdef12\n", File.ReadAllText(Path.Combine(Home, ".gpu-dev", $"{Id}-sshconfig")), StringComparison.Ordinal);
        Assert.Equal("[10.0.0.5]:30001 ssh-ed25519 AAAAPTY\n", File.ReadAllText(Path.Combine(Home, ".gpu-dev", $"{Id}.known_hosts")));
    }

    [Fact]
    public async Task Cancel_PickSecondAndConfirm_SendsDeleteAndRemovesItsSshFiles()
    {
        SkipWithoutTmux();
        _server
            .On("GET", "/api/v1/reservations", Json([
                CliHarness.Reservation("active", configure: b => b.HostKey = "ssh-ed25519 A"),
                CliHarness.Reservation("active", Other, b => { b.HostKey = "ssh-ed25519 B"; b.Name = "second"; }),
            ]))
            .On("DELETE", $"/api/v1/reservations/{Other}", Json(CliHarness.Reservation("cancelled", Other)));
        using var tmux = new TmuxSession(Command("cancel"));

        var screen = await tmux.WaitForAsync("Cancel which reservation?");
        Assert.Contains("cancel all (2)", screen, StringComparison.Ordinal);
        tmux.Keys("Down");
        await tmux.WaitForAsync("> 11111111");
        tmux.Keys("Enter");
        await tmux.WaitForAsync("Cancel reservation 11111111 (second,");
        tmux.Type("y");
        tmux.Keys("Enter");

        screen = await tmux.WaitForAsync("[exit ");
        Assert.Contains("[exit 0]", screen, StringComparison.Ordinal);
        Assert.Contains("Cancelled reservation 11111111", screen, StringComparison.Ordinal);
        var delete = Assert.Single(_server.Requests, r => r.Method == HttpMethod.Delete);
        Assert.Equal($"/api/v1/reservations/{Other}", delete.PathAndQuery);
        Assert.False(File.Exists(Path.Combine(Home, ".gpu-dev", $"{Other}-sshconfig")));
        Assert.False(File.Exists(Path.Combine(Home, ".gpu-dev", $"{Other}.known_hosts")));
        Assert.True(File.Exists(Path.Combine(Home, ".gpu-dev", $"{Id}-sshconfig")));
    }

    [Fact]
    public async Task Cancel_DeclineConfirmation_Exit2NoDelete()
    {
        SkipWithoutTmux();
        _server.On("GET", "/api/v1/reservations", Json([CliHarness.Reservation("active")]));
        using var tmux = new TmuxSession(Command("cancel --all"));

        await tmux.WaitForAsync("Cancel reservation abcdef12");
        tmux.Type("n");
        tmux.Keys("Enter");

        var screen = await tmux.WaitForAsync("[exit ");
        Assert.Contains("[exit 2]", screen, StringComparison.Ordinal);
        Assert.DoesNotContain(_server.Requests, r => r.Method == HttpMethod.Delete);
    }

    private const string Catalog = """
        {"types":[{"name":"t4","instanceType":"g4dn","gpusPerNode":4,"memoryGbPerGpu":16,"description":"T4","cpuOnly":false},
                  {"name":"h100","instanceType":"p5","gpusPerNode":8,"memoryGbPerGpu":80,"description":"H100","cpuOnly":false}],
         "allowedGpuCounts":[1,2,4,8,16],"minHours":0.0833,"maxHours":24}
        """;

    private static string Availability(int h100Free) => $$"""
        {"at":"2030-01-02T10:00:00Z","types":[
          {"gpuType":"t4","gpusPerNode":4,"nodes":1,"total":4,"free":4,"largestFreeBlock":4},
          {"gpuType":"h100","gpusPerNode":8,"nodes":2,"total":16,"free":{{h100Free}},"largestFreeBlock":{{Math.Min(h100Free, 8)}}}]}
        """;

    /// <summary>After "[exit ": the terminal's echo setting ("echo" or "-echo") as stty reports it.</summary>
    private static string WithTerminalState(string command) =>
        $"{command}; code=$?; stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?echo'; (exit $code)";

    /// <summary>Presses <paramref name="key"/> and waits for the command to end; the exit must come at once (bounded at 3 s:
    /// the time goes through tmux and a second process, so a tight bound would measure the machine's load, not the CLI;
    /// the figure is printed with the test output), leave echo and the cursor on, and a stray Enter afterwards
    /// must reach nothing.</summary>
    private static async Task<string> PressAndExpectExit2Async(TmuxSession tmux, string key)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        tmux.Keys(key);
        var screen = await tmux.WaitForAsync("[exit ");
        var elapsed = clock.Elapsed;
        Assert.Contains("[exit 2]", screen, StringComparison.Ordinal);
        Assert.True(elapsed < TimeSpan.FromSeconds(3), $"{key} took {elapsed.TotalMilliseconds:0} ms to end the command");
        TestContext.Current.TestOutputHelper?.WriteLine($"{key} to exit: {elapsed.TotalMilliseconds:0} ms");
        Assert.Contains("cancelled; nothing was changed", screen, StringComparison.Ordinal);
        Assert.Contains("\necho\n", screen, StringComparison.Ordinal);
        Assert.True(tmux.CursorVisible, "the cursor was left hidden");
        tmux.Keys("Enter");
        await Task.Delay(300);
        return screen;
    }

    [Fact]
    public async Task Reserve_CtrlCAtTypeMenu_Exit2AtOnceNothingSent()
    {
        SkipWithoutTmux();
        _server.On("GET", "/api/v1/gpu-types", Catalog).On("GET", "/api/v1/availability", Availability(6))
            .On("POST", "/api/v1/reservations", Json(CliHarness.Reservation("active")));
        using var tmux = new TmuxSession(WithTerminalState(Command("reserve")));
        await tmux.WaitForAsync("GPU type?");
        tmux.Keys("Down");
        await tmux.WaitForAsync("> h100");

        await PressAndExpectExit2Async(tmux, "C-c");

        Assert.DoesNotContain(_server.Requests, r => r.Method != HttpMethod.Get);
    }

    [Fact]
    public async Task Reserve_CtrlCAtHoursPrompt_Exit2AtOnceNothingSent()
    {
        SkipWithoutTmux();
        _server.On("GET", "/api/v1/gpu-types", Catalog).On("GET", "/api/v1/availability", Availability(6))
            .On("POST", "/api/v1/reservations", Json(CliHarness.Reservation("active")));
        using var tmux = new TmuxSession(WithTerminalState(Command("reserve -t h100 -g 2")));
        await tmux.WaitForAsync("Hours (");
        tmux.Type("2.5");

        await PressAndExpectExit2Async(tmux, "C-c");

        Assert.DoesNotContain(_server.Requests, r => r.Method != HttpMethod.Get);
    }

    [Fact]
    public async Task Cancel_CtrlCAtConfirmation_Exit2AtOnceNoDelete()
    {
        SkipWithoutTmux();
        _server.On("GET", "/api/v1/reservations", Json([CliHarness.Reservation("active")]))
            .On("DELETE", $"/api/v1/reservations/{Id}", Json(CliHarness.Reservation("cancelled")));
        using var tmux = new TmuxSession(WithTerminalState(Command("cancel --all")));
        await tmux.WaitForAsync("Cancel reservation abcdef12");
        tmux.Type("y");

        var screen = await PressAndExpectExit2Async(tmux, "C-c");

        Assert.DoesNotContain("Cancelled reservation", screen, StringComparison.Ordinal);
        Assert.DoesNotContain(_server.Requests, r => r.Method == HttpMethod.Delete);
    }

    [Theory]
    [InlineData("Escape")]
    [InlineData("q")]
    public async Task Cancel_EscOrQAtPicker_Exit2NoDelete(string key)
    {
        SkipWithoutTmux();
        _server
            .On("GET", "/api/v1/reservations", Json([CliHarness.Reservation("active"), CliHarness.Reservation("active", Other)]))
            .On("DELETE", $"/api/v1/reservations/{Id}", Json(CliHarness.Reservation("cancelled")));
        using var tmux = new TmuxSession(WithTerminalState(Command("cancel")));
        await tmux.WaitForAsync("Cancel which reservation?");

        await PressAndExpectExit2Async(tmux, key);

        Assert.DoesNotContain(_server.Requests, r => r.Method == HttpMethod.Delete);
    }

    [Fact]
    public async Task Reserve_OpenTypeMenuRefreshesAndCountMenuShowsFreshNumbers()
    {
        SkipWithoutTmux();
        _server.On("GET", "/api/v1/gpu-types", Catalog).On("GET", "/api/v1/availability", Availability(0));
        using var tmux = new TmuxSession(Command("reserve"));
        await tmux.WaitForAsync("0/16 free");

        // The GPUs free up while the menu is open: it redraws within its 5 s refresh.
        _server.On("GET", "/api/v1/availability", Availability(16));
        await tmux.WaitForAsync("16/16 free", timeoutSeconds: 8);
        tmux.Keys("Down");
        await tmux.WaitForAsync("> h100");
        tmux.Keys("Enter");

        var screen = await tmux.WaitForAsync("How many GPUs?");
        Assert.Contains("8  (free now)", screen, StringComparison.Ordinal);
        Assert.DoesNotContain("queues", screen, StringComparison.Ordinal);
        tmux.Keys("Escape");
        Assert.Contains("[exit 2]", await tmux.WaitForAsync("[exit "), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecondCtrlC_WhenTheFirstDidNotEndTheCommand_Exits2()
    {
        // `connect` leaves Ctrl+C to ssh; an ssh that ignores it keeps gpu-dev waiting. The second Ctrl+C ends
        // gpu-dev with the documented 2 (not 130, death by SIGINT).
        SkipWithoutTmux();
        var ssh = Path.Combine(_temp, "stubborn-ssh");
        File.WriteAllText(ssh, "#!/bin/sh\ntrap '' INT\necho stubborn ssh running\nsleep 30\n");
        File.SetUnixFileMode(ssh, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        _server.On("GET", $"/api/v1/reservations/{Id}", Json(CliHarness.Reservation("active")));
        using var tmux = new TmuxSession($"GPU_DEV_SSH='{ssh}' {Command($"connect {Id}")}");
        await tmux.WaitForAsync("stubborn ssh running");

        tmux.Keys("C-c");
        await Task.Delay(500);
        Assert.DoesNotContain("[exit ", tmux.Screen(), StringComparison.Ordinal);
        tmux.Keys("C-c");

        Assert.Contains("[exit 2]", await tmux.WaitForAsync("[exit ", timeoutSeconds: 5), StringComparison.Ordinal);
    }
}

using System.Net;
using System.Text.Json;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Tests.Commands;

public sealed class ReserveCommandTests
{
    private const string Id = "abcdef1234567890abcdef1234567890";
    private const string Path = "/api/v1/reservations";

    [Fact]
    public async Task Execute_QueuedThenActive_WaitsAndPrintsConnectInfo()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("queued", configure: b => b.QueuePosition = 2)));
        cli.Http.On("GET", $"{Path}/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("queued", configure: b => { b.QueuePosition = 1; b.WaitReason = "waiting for 2 h100 GPUs"; })))
            .On("GET", $"{Path}/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("preparing")))
            .On("GET", $"{Path}/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-g", "2", "-h", "2.5", "-n", "train");

        Assert.Equal(0, exit);
        Assert.Contains("gpu-dev connect abcdef12", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("ssh -p 30001 dev@10.0.0.5", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("preparing", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("waiting for 2 h100 GPUs", cli.Console.StdErr, StringComparison.Ordinal);
        var post = Assert.Single(cli.Http.To("POST", Path));
        using var body = JsonDocument.Parse(post.Body!);
        Assert.Equal("h100", body.RootElement.GetProperty("gpuType").GetString());
        Assert.Equal(2, body.RootElement.GetProperty("gpuCount").GetInt32());
        Assert.Equal(2.5, body.RootElement.GetProperty("hours").GetDouble());
        Assert.Equal("train", body.RootElement.GetProperty("name").GetString());
        Assert.True(Guid.TryParse(post.Headers["Idempotency-Key"], out _));
        Assert.Equal($"Bearer {CliHarness.Token}", post.Headers["Authorization"]);
        Assert.Equal(3, cli.Http.To("GET", $"{Path}/{Id}").Count());
    }

    [Theory]
    [InlineData("-h", "1,5", "--hours: '1,5' is not a number: use digits with an optional '.' decimal point (e.g. 1.5); no commas, signs or exponents; valid: 0.0833 to 24 hours.")]
    [InlineData("-h", "1e1", "--hours: '1e1' is not a number")]
    [InlineData("-g", "0x8", "--gpus: '0x8' is not a whole number: use digits only (e.g. 8); valid: 1, 2, 4, 8")]
    [InlineData("-g", "8.0", "--gpus: '8.0' is not a whole number")]
    public async Task Execute_NumberNotPlain_Exit1WithTheRule_NothingSent(string option, string value, string error)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("reserve", "-t", "h100", option == "-g" ? "-h" : "-g", "1", option, value);

        Assert.Equal(1, exit);
        Assert.StartsWith("error: " + error, cli.Console.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Execute_JupyterDidNotStart_Exit1WithTheReason_ReservationKept()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("preparing")))
            .On("GET", $"{Path}/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b =>
                b.StatusReason = "ssh handshake succeeded; Jupyter could not start: Jupyter is not installed in the image busybox (it has neither jupyter-lab nor jupyter-notebook)")));

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-g", "2", "-h", "1", "--jupyter");

        Assert.Equal(1, exit);
        Assert.Contains("error: reservation abcdef12 is active, but Jupyter could not start: Jupyter is not installed in the image busybox", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("gpu-dev cancel abcdef12", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("gpu-dev connect abcdef12", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Empty(cli.Http.To("DELETE", $"{Path}/{Id}"));
    }

    [Fact]
    public async Task Execute_ValidationProblem_PrintsOneErrorLineAndPostsOnce()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Path, HttpStatusCode.UnprocessableEntity,
            """{"title":"Invalid request","status":422,"code":"validation","detail":"GPU count must be one of 1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 48; got 3.","errors":{"gpuCount":["GPU count must be one of 1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 48; got 3."]}}""");

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-g", "3", "-h", "1");

        Assert.Equal(1, exit);
        Assert.Equal("error: GPU count must be one of 1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 48; got 3.\n", cli.Console.StdErr.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Single(cli.Http.Requests);
        Assert.Empty(cli.Console.StdOut);
    }

    [Fact]
    public async Task Execute_OverAQuota_OneLineWithTheLimitAndWhenItFrees_NoRetry()
    {
        using var cli = new CliHarness();
        const string Detail = "You hold 4 GPUs; with this request's 2 that is over the 4 one user may hold at once (Quotas:MaxGpusPerUser); enough frees when 3f2a1b9c ends at 2030-01-02 12:00 UTC.";
        cli.Http.On("POST", Path, HttpStatusCode.TooManyRequests,
            $$"""{"title":"Over a quota.","status":429,"code":"quota-exceeded","detail":"{{Detail}}"}""");

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-g", "2", "-h", "1");

        Assert.Equal(1, exit);
        Assert.Equal($"error: {Detail}\n", cli.Console.StdErr.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Single(cli.Http.Requests);
    }

    [Fact]
    public async Task Execute_ProblemWithSeveralErrors_PrintsEachOnItsOwnLine()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Path, HttpStatusCode.BadRequest,
            """{"title":"Invalid request","status":400,"code":"validation","detail":"2 errors","errors":{"gpuCount":["GPU count bad."],"hours":["Hours bad."]}}""");

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-g", "3", "-h", "99");

        Assert.Equal(1, exit);
        var lines = cli.Console.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["error: GPU count bad.", "error: Hours bad."], lines);
    }

    [Theory]
    [InlineData("--preserve-entrypoint needs --dockerimage", "--preserve-entrypoint")]
    [InlineData("give either --dockerimage or --dockerfile", "--dockerimage", "pytorch/pytorch:2.3.0", "--dockerfile", "/etc/hostname")]
    public async Task Execute_ImpossibleImageOptions_FailWithoutHttpCall(string error, params string[] option)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync(["reserve", "-t", "h100", "-h", "1", .. option]);

        Assert.Equal(1, exit);
        Assert.StartsWith($"error: {error}", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Execute_BadNodeLabel_OneLineError()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-l", "nsight");

        Assert.Equal(1, exit);
        Assert.Equal("error: --node-label must be KEY=VALUE, e.g. nsight=true; got \"nsight\"", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Execute_DiskNoneAndShortH_SendsHoursAndNoPersist()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));

        var exit = await cli.RunAsync("reserve", "-t", "t4", "-g", "1", "-h", "2", "--disk", "none", "--no-wait");

        Assert.Equal(0, exit);
        using var body = JsonDocument.Parse(Assert.Single(cli.Http.Requests).Body!);
        Assert.Equal(2, body.RootElement.GetProperty("hours").GetDouble());
        Assert.Equal("none", body.RootElement.GetProperty("disk").GetString());
        Assert.True(body.RootElement.GetProperty("noPersist").GetBoolean());
        Assert.Equal(Id, cli.Console.StdOut.Trim());
    }

    [Fact]
    public async Task Execute_HoursOmittedNonInteractive_DefaultsToOneHour()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));

        var exit = await cli.RunAsync("reserve", "-t", "t4", "--no-wait", "--json");

        Assert.Equal(0, exit);
        using var body = JsonDocument.Parse(Assert.Single(cli.Http.Requests).Body!);
        Assert.Equal(1, body.RootElement.GetProperty("hours").GetDouble());
        using var output = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal(Id, output.RootElement.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Execute_NoGpuTypeNonInteractive_ErrorListsValidTypes()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK,
            """{"types":[{"name":"h100","instanceType":"p5","gpusPerNode":8,"memoryGbPerGpu":80,"description":"x","cpuOnly":false},{"name":"t4","instanceType":"g4dn","gpusPerNode":4,"memoryGbPerGpu":16,"description":"y","cpuOnly":false}],"allowedGpuCounts":[1,2,4,8],"minHours":0.0833,"maxHours":24}""");

        var exit = await cli.RunAsync("reserve", "-h", "1");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: --gpu-type is required in non-interactive mode; valid types: h100, t4", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.To("POST", Path));
    }

    [Fact]
    public async Task Execute_InteractiveWithoutType_PromptsForTypeCountHoursName()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK,
            """{"types":[{"name":"h100","instanceType":"p5","gpusPerNode":8,"memoryGbPerGpu":80,"description":"x","cpuOnly":false}],"allowedGpuCounts":[1,2,4,8,16],"minHours":0.0833,"maxHours":24}""");
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        foreach (var answer in new[] { "h100", "4", "3.5", "n", "exp" })
        {
            cli.Console.Answers.Enqueue(answer);
        }

        var exit = await cli.RunAsync("reserve", "--no-wait");

        Assert.Equal(0, exit);
        using var body = JsonDocument.Parse(cli.Http.To("POST", Path).Single().Body!);
        Assert.Equal("h100", body.RootElement.GetProperty("gpuType").GetString());
        Assert.Equal(4, body.RootElement.GetProperty("gpuCount").GetInt32());
        Assert.Equal(3.5, body.RootElement.GetProperty("hours").GetDouble());
        Assert.Equal("exp", body.RootElement.GetProperty("name").GetString());
    }

    [Fact]
    public async Task Execute_ReservationFails_ErrorWithReasonExit1()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        cli.Http.On("GET", $"{Path}/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("failed", configure: b => b.StatusReason = "image pull failed")));

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1");

        Assert.Equal(1, exit);
        Assert.Contains("error: reservation abcdef12 failed: image pull failed", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_CtrlCWhileWaiting_PrintsResumeHintExit2()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("queued")));
        cli.Http.On("GET", $"{Path}/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("queued")));
        cli.Http.OnRequest = r =>
        {
            if (r.Method == HttpMethod.Get)
            {
                cli.Cancellation.Cancel();
            }
        };

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1");

        Assert.Equal(2, exit);
        Assert.Contains("still reserving; check with gpu-dev show abcdef12", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.To("DELETE", Path));
    }

    [Fact]
    public async Task Execute_MissingToken_Exit4WithHint()
    {
        using var cli = new CliHarness(withToken: false);

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1");

        Assert.Equal(4, exit);
        Assert.Contains("hint: sign in with `gpu-dev login`, or run `gpu-dev config set token TOKEN`", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Execute_Unauthorized_Exit4()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Path, HttpStatusCode.Unauthorized, """{"title":"Unauthorized","status":401,"code":"unauthorized","detail":"invalid or missing token"}""");

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1");

        Assert.Equal(4, exit);
        Assert.StartsWith("error: invalid or missing token", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_ServerUnreachable_CannotReachErrorExit1()
    {
        using var cli = new CliHarness();
        cli.Http.Throw = new HttpRequestException("Connection refused (gpu-dev.test:8484)");

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1");

        Assert.Equal(1, exit);
        Assert.StartsWith($"error: cannot reach the gpu-dev server at {CliHarness.Server}: Connection refused", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("hint:", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_Distributed_SentAsDistributedTrue()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending", configure: b => { b.GpuCount = 16; b.NodeCount = 2; })));

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-g", "16", "-h", "1", "-d", "--no-wait");

        Assert.Equal(0, exit);
        using var body = JsonDocument.Parse(Assert.Single(cli.Http.Requests).Body!);
        Assert.True(body.RootElement.GetProperty("distributed").GetBoolean());
        Assert.Equal(16, body.RootElement.GetProperty("gpuCount").GetInt32());
    }

    [Fact]
    public async Task Execute_WaitingInQueueNonTty_StatusLineShowsPositionEtaAndReason()
    {
        using var cli = new CliHarness(tty: false);
        var eta = cli.Now.AddMinutes(35);
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        cli.Http.On("GET", $"{Path}/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("queued", configure: b =>
            {
                b.QueuePosition = 1;
                b.EstimatedStartAt = eta;
                b.WaitReason = "no node has 2 free h100; largest free block is 1 on local-2";
            })))
            .On("GET", $"{Path}/{Id}", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active")));

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-g", "2", "-h", "1");

        Assert.Equal(0, exit);
        Assert.Contains(
            $"reservation abcdef12: queued: #1 for h100, starts by {Format.LocalTime(eta, cli.Now)} — no node has 2 free h100; largest free block is 1 on local-2\n",
            cli.Console.StdErr, StringComparison.Ordinal);
    }

    private const string H100Catalog = """
        {"types":[{"name":"h100","instanceType":"p5","gpusPerNode":8,"memoryGbPerGpu":80,"description":"x","cpuOnly":false},
                  {"name":"t4","instanceType":"g4dn","gpusPerNode":4,"memoryGbPerGpu":16,"description":"y","cpuOnly":false}],
         "allowedGpuCounts":[1,2,4,8,16],"minHours":0.0833,"maxHours":24}
        """;

    /// <summary>Availability with <paramref name="free"/> of 16 h100 free (at most 8 on one node), a whole node free
    /// at <paramref name="fullNodeFreeAt"/> and <paramref name="queued"/> requests waiting.</summary>
    private static string H100Availability(int free, DateTimeOffset fullNodeFreeAt, int queued = 0) => $$"""
        {"at":"2030-01-02T10:00:00Z","types":[
          {"gpuType":"h100","gpusPerNode":8,"nodes":2,"total":16,"free":{{free}},"largestFreeBlock":{{Math.Min(free, 8)}},
           "queued":{{queued}},"queuedGpus":{{queued * 8}},"fullNodeFreeAt":"{{Format.Rfc3339(fullNodeFreeAt)}}"},
          {"gpuType":"t4","gpusPerNode":4,"nodes":1,"total":4,"free":4,"largestFreeBlock":4}]}
        """;

    [Fact]
    public async Task Execute_Interactive_CountMenuFetchesFreshNumbers()
    {
        // The GPUs free up while the user looks at the type menu: the count menu must not say "queues" any more.
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK, H100Catalog);
        cli.Http.On("GET", "/api/v1/availability", HttpStatusCode.OK, H100Availability(0, cli.Now.AddHours(2)))
            .On("GET", "/api/v1/availability", HttpStatusCode.OK, H100Availability(16, cli.Now));
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        var menus = new List<IReadOnlyList<string>>();
        cli.Console.OnSelect = menus.Add;
        foreach (var answer in new[] { "h100", "8", "1", "n", string.Empty })
        {
            cli.Console.Answers.Enqueue(answer);
        }

        var exit = await cli.RunAsync("reserve", "--no-wait", "--disk", "none");

        Assert.Equal(0, exit);
        Assert.Contains("0/16 free", menus[0][0], StringComparison.Ordinal);
        Assert.Equal(["1  (free now)", "2  (free now)", "4  (free now)", "8  (free now)", "16  (2 nodes, distributed)"], menus[1]);
        Assert.Equal(2, cli.Http.To("GET", "/api/v1/availability").Count());
    }

    [Fact]
    public async Task Execute_Interactive_OpenMenusRefreshTheirNumbers()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK, H100Catalog);
        cli.Http.On("GET", "/api/v1/availability", HttpStatusCode.OK, H100Availability(0, cli.Now.AddHours(2)))
            .On("GET", "/api/v1/availability", HttpStatusCode.OK, H100Availability(6, cli.Now.AddHours(2)))
            .On("GET", "/api/v1/availability", HttpStatusCode.OK, H100Availability(6, cli.Now.AddHours(2)))
            .On("GET", "/api/v1/availability", HttpStatusCode.OK, H100Availability(16, cli.Now));
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        cli.Console.MenuRefreshes = 1;
        foreach (var answer in new[] { "h100", "8", "1", "n", string.Empty })
        {
            cli.Console.Answers.Enqueue(answer);
        }

        var exit = await cli.RunAsync("reserve", "--no-wait", "--disk", "none");

        Assert.Equal(0, exit);
        Assert.Equal(2, cli.Console.Refreshed.Count);
        var types = cli.Console.Refreshed[0]!;
        Assert.StartsWith("h100  6/16 free", types[0], StringComparison.Ordinal);
        Assert.StartsWith("t4    4/4 free", types[1], StringComparison.Ordinal);
        Assert.Equal(["1  (free now)", "2  (free now)", "4  (free now)", "8  (free now)", "16  (2 nodes, distributed)"], cli.Console.Refreshed[1]!);
    }

    [Fact]
    public async Task Execute_Interactive_QueuingCountsSayUntilWhen()
    {
        using var cli = new CliHarness(tty: true);
        var nodeFree = cli.Now.AddHours(2).AddMinutes(5);
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK, H100Catalog);
        cli.Http.On("GET", "/api/v1/availability", HttpStatusCode.OK, H100Availability(2, nodeFree))
            .On("GET", "/api/v1/availability", HttpStatusCode.OK, H100Availability(2, nodeFree, queued: 3));
        IReadOnlyList<string>? counts = null;
        cli.Console.OnSelect = c => counts = c;
        cli.Console.MenuRefreshes = 1;
        cli.Console.Answers.Enqueue(TestConsole.Esc);

        var exit = await cli.RunAsync("reserve", "-t", "h100");

        Assert.Equal(2, exit);
        var when = Format.Upcoming(nodeFree, cli.Now);
        Assert.Equal(["1  (free now)", "2  (free now)", $"4  (queues; starts {when} or sooner)", $"8  (queues; starts {when} or sooner)", "16  (2 nodes, distributed)"], counts);
        Assert.Equal($"4  (queues behind 3 waiting; a node frees {when})", cli.Console.Refreshed.Single()![2]);
        Assert.Empty(cli.Http.To("POST", Path));
    }

    [Theory]
    [InlineData(TestConsole.CtrlC, 0)]
    [InlineData(TestConsole.Esc, 0)]
    [InlineData(TestConsole.CtrlC, 2)]
    [InlineData(TestConsole.Esc, 2)]
    [InlineData(TestConsole.CtrlC, 3)]
    public async Task Execute_Interactive_InterruptAtAnyPrompt_Exit2NothingSent(string key, int atPrompt)
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK, H100Catalog);
        cli.Http.On("GET", "/api/v1/availability", HttpStatusCode.OK, H100Availability(16, cli.Now));
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        foreach (var answer in new[] { "h100", "8", "1" }.Take(atPrompt))
        {
            cli.Console.Answers.Enqueue(answer);
        }

        cli.Console.Answers.Enqueue(key);

        var exit = await cli.RunAsync("reserve", "--no-wait", "--disk", "none");

        Assert.Equal(2, exit);
        Assert.Equal("cancelled; nothing was changed\n", cli.Console.StdErr);
        Assert.Equal(atPrompt + 1, cli.Console.Questions.Count);
        Assert.Empty(cli.Http.To("POST", Path));
    }
}

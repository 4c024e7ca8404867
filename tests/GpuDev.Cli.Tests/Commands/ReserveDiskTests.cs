using System.Net;
using System.Text.Json;
using static GpuDev.Cli.Tests.Commands.DiskCommandTests;

namespace GpuDev.Cli.Tests.Commands;

public sealed class ReserveDiskTests
{
    private const string Path = "/api/v1/reservations";
    private const string Disks = "/api/v1/disks";

    private const string GpuTypes =
        """{"types":[{"name":"h100","instanceType":"p5","gpusPerNode":8,"memoryGbPerGpu":80,"description":"x","cpuOnly":false}],"allowedGpuCounts":[1,2,4,8],"minHours":0.0833,"maxHours":24}""";

    private static JsonElement Body(CliHarness cli)
    {
        using var doc = JsonDocument.Parse(cli.Http.To("POST", Path).Single().Body!);
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task Reserve_DiskNotTty_SendsDiskWithoutLookup()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1", "--disk", "pytorch-dev", "--no-wait");

        Assert.Equal(0, exit);
        var body = Body(cli);
        Assert.Equal("pytorch-dev", body.GetProperty("disk").GetString());
        Assert.False(body.GetProperty("noPersist").GetBoolean());
        Assert.Empty(cli.Http.To("GET", Disks));
    }

    [Fact]
    public async Task Reserve_DiskExistsTty_SendsDiskWithoutPrompt()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Disks, HttpStatusCode.OK, Json([Disk("pytorch-dev")]));
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1", "--disk", "pytorch-dev", "--no-wait");

        Assert.Equal(0, exit);
        Assert.Empty(cli.Console.Questions);
        Assert.Equal("pytorch-dev", Body(cli).GetProperty("disk").GetString());
        Assert.Empty(cli.Http.To("POST", Disks));
    }

    [Fact]
    public async Task Reserve_MissingDiskTty_PromptsCreatesThenReserves()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Disks, HttpStatusCode.OK, Json([Disk("other")]));
        cli.Http.On("POST", Disks, HttpStatusCode.Created, Json(Disk("new-proj")));
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        cli.Console.Answers.Enqueue("y");

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1", "--disk", "new-proj", "--no-wait");

        Assert.Equal(0, exit);
        Assert.Contains("Create disk new-proj?", Assert.Single(cli.Console.Questions), StringComparison.Ordinal);
        using var create = JsonDocument.Parse(cli.Http.To("POST", Disks).Single().Body!);
        Assert.Equal("new-proj", create.RootElement.GetProperty("name").GetString());
        Assert.Equal("new-proj", Body(cli).GetProperty("disk").GetString());
        var order = cli.Http.Requests.Select(r => $"{r.Method} {r.PathAndQuery}").ToList();
        Assert.Equal([$"GET {Disks}", $"POST {Disks}", $"POST {Path}"], order);
        Assert.Contains("Created disk new-proj", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reserve_MissingDiskTtyDeclined_NothingReservedExit2()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Disks, HttpStatusCode.OK, "[]");
        cli.Console.Answers.Enqueue("n");

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1", "--disk", "new-proj");

        Assert.Equal(2, exit);
        Assert.Contains("error: no disk named new-proj; nothing reserved", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.To("POST", "/"));
    }

    [Fact]
    public async Task Reserve_MissingDiskNotTty_ServerNotFoundWithCreateHint()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("POST", Path, HttpStatusCode.NotFound,
            """{"title":"Not found","status":404,"code":"not-found","detail":"no disk named new-proj; create it with gpu-dev disk create new-proj"}""");

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1", "--disk", "new-proj");

        Assert.Equal(1, exit);
        var lines = cli.Console.StdErr.Replace("\r\n", "\n", StringComparison.Ordinal).Trim().Split('\n');
        Assert.Equal("error: no disk named new-proj; create it with gpu-dev disk create new-proj", lines[0]);
        Assert.StartsWith("hint: create it with `gpu-dev disk create new-proj`", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reserve_DiskInUse_IgnoreNoPersist_ReservesWithATemporaryHome()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("POST", Path, HttpStatusCode.Conflict,
                """{"title":"Conflict","status":409,"code":"conflict","detail":"Disk llm is in use by reservation abcd1234; cancel it or use --disk none."}""")
            .On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("active")));

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1", "--disk", "llm", "--ignore-no-persist", "--no-wait");

        Assert.Equal(0, exit);
        Assert.Contains("reserving with a temporary /home/dev instead (--ignore-no-persist)", cli.Console.StdErr, StringComparison.Ordinal);
        var second = cli.Http.To("POST", Path).Last().Body!;
        Assert.Contains("\"disk\":\"none\"", second, StringComparison.Ordinal);
        Assert.Contains("\"noPersist\":true", second, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reserve_DiskInUse_ConflictMessageAndHint()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("POST", Path, HttpStatusCode.Conflict,
            """{"title":"Conflict","status":409,"code":"conflict","detail":"disk llm is in use by reservation abcd1234"}""");

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1", "--disk", "llm");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: disk llm is in use by reservation abcd1234\nhint: ", cli.Console.StdErr.Replace("\r\n", "\n", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Contains("--disk none", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reserve_DiskInUseTty_OffersTemporaryHome()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Disks, HttpStatusCode.OK, Json([Disk("llm", "in-use")]));
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        cli.Console.Answers.Enqueue("y");

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1", "--disk", "llm", "--no-wait");

        Assert.Equal(0, exit);
        Assert.Contains("in use by reservation abcd1234", Assert.Single(cli.Console.Questions), StringComparison.Ordinal);
        Assert.True(Body(cli).GetProperty("noPersist").GetBoolean());
    }

    [Theory]
    [InlineData("bad name")]
    [InlineData("a/b")]
    public async Task Reserve_BadDiskName_ErrorWithoutHttpCall(string name)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1", "--disk", name);

        Assert.Equal(1, exit);
        Assert.StartsWith($"error: --disk: invalid disk name \"{name}\"", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Reserve_Interactive_OffersDisksMarksInUseAndUsesChoice()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK, GpuTypes);
        cli.Http.On("GET", Disks, HttpStatusCode.OK, Json([Disk("llm", "in-use"), Disk("pytorch-dev")]));
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        IReadOnlyList<string>? diskChoices = null;
        cli.Console.OnSelect = c => diskChoices = c;
        foreach (var answer in new[] { "h100", "2", "1", "n", "", "llm", "pytorch-dev" })
        {
            cli.Console.Answers.Enqueue(answer);
        }

        var exit = await cli.RunAsync("reserve", "--no-wait");

        Assert.Equal(0, exit);
        Assert.NotNull(diskChoices);
        Assert.Equal(4, diskChoices.Count);
        Assert.StartsWith("pytorch-dev  1.2 GB, last used 1d ago", diskChoices[0], StringComparison.Ordinal);
        Assert.Equal("llm          (in use by abcd1234)", diskChoices[1]);
        Assert.Equal("create new…", diskChoices[2]);
        Assert.Equal("none (temporary home)", diskChoices[3]);
        Assert.Contains("disk llm is in use by reservation abcd1234; pick another", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Equal("pytorch-dev", Body(cli).GetProperty("disk").GetString());
    }

    /// <summary>A multinode request takes no named disk (the server refuses one): the wizard does not offer any.</summary>
    [Fact]
    public async Task Reserve_InteractiveDistributed_OffersNoDisk()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK, GpuTypes);
        cli.Http.On("GET", Disks, HttpStatusCode.OK, Json([Disk("pytorch-dev")]));
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        IReadOnlyList<string>? menu = null;
        cli.Console.OnSelect = c => menu = c;
        foreach (var answer in new[] { "1", "n", "" })
        {
            cli.Console.Answers.Enqueue(answer);
        }

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-g", "16", "--distributed", "--no-wait");

        Assert.Equal(0, exit);
        Assert.Null(menu);
        Assert.Empty(cli.Http.To("GET", Disks));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, Body(cli).GetProperty("disk").ValueKind);
    }

    [Fact]
    public async Task Reserve_InteractiveCreateNew_ValidatesNameAndCreates()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK, GpuTypes);
        cli.Http.On("GET", Disks, HttpStatusCode.OK, "[]");
        cli.Http.On("POST", Disks, HttpStatusCode.Created, Json(Disk("exp-1")));
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        foreach (var answer in new[] { "h100", "1", "1", "n", "", "create", "bad name", "exp-1" })
        {
            cli.Console.Answers.Enqueue(answer);
        }

        var exit = await cli.RunAsync("reserve", "--no-wait");

        Assert.Equal(0, exit);
        Assert.Contains("invalid disk name \"bad name\"", cli.Console.StdErr, StringComparison.Ordinal);
        using var create = JsonDocument.Parse(cli.Http.To("POST", Disks).Single().Body!);
        Assert.Equal("exp-1", create.RootElement.GetProperty("name").GetString());
        Assert.Equal("exp-1", Body(cli).GetProperty("disk").GetString());
    }

    [Fact]
    public async Task Reserve_InteractiveNone_TemporaryHome()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK, GpuTypes);
        cli.Http.On("GET", Disks, HttpStatusCode.OK, Json([Disk("pytorch-dev")]));
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        foreach (var answer in new[] { "h100", "1", "1", "n", "", "none" })
        {
            cli.Console.Answers.Enqueue(answer);
        }

        var exit = await cli.RunAsync("reserve", "--no-wait");

        Assert.Equal(0, exit);
        var body = Body(cli);
        Assert.True(body.GetProperty("noPersist").GetBoolean());
        Assert.Equal("none", body.GetProperty("disk").GetString());
    }

    [Fact]
    public async Task Reserve_InteractiveNoPersist_NoDiskPrompt()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/gpu-types", HttpStatusCode.OK, GpuTypes);
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));
        foreach (var answer in new[] { "h100", "1", "1", "n", "" })
        {
            cli.Console.Answers.Enqueue(answer);
        }

        var exit = await cli.RunAsync("reserve", "--no-persist", "--no-wait");

        Assert.Equal(0, exit);
        Assert.Empty(cli.Http.To("GET", Disks));
        Assert.True(Body(cli).GetProperty("noPersist").GetBoolean());
    }

    [Theory]
    [InlineData("pytorch-dev", true)]
    [InlineData(null, false)]
    public async Task Show_DiskLineOnlyWhenReservationHasOne(string? disk, bool shown)
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", $"{Path}/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b => b.Disk = disk)));

        var exit = await cli.RunAsync("show", "abcdef12");

        Assert.Equal(0, exit);
        Assert.Equal(shown, cli.Console.StdOut.Contains("Disk:        pytorch-dev (mounted as /home/dev)\n", StringComparison.Ordinal));
        Assert.Equal(shown, cli.Console.StdOut.Contains("Disk:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Reserve_RecreateEnvWithDisk_SendsRecreateEnv(bool tty)
    {
        using var cli = new CliHarness(tty);
        cli.Http.On("GET", Disks, HttpStatusCode.OK, Json([Disk("pytorch-dev")]));
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1", "--disk", "pytorch-dev", "--recreate-env", "--no-wait");

        Assert.Equal(0, exit);
        var body = Body(cli);
        Assert.True(body.GetProperty("recreateEnv").GetBoolean());
        Assert.Equal("pytorch-dev", body.GetProperty("disk").GetString());
        Assert.Empty(cli.Console.Questions);
    }

    [Fact]
    public async Task Reserve_WithoutRecreateEnv_SendsFalse()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("POST", Path, HttpStatusCode.Created, CliHarness.Json(CliHarness.Reservation("pending")));

        var exit = await cli.RunAsync("reserve", "-t", "h100", "-h", "1", "--disk", "pytorch-dev", "--no-wait");

        Assert.Equal(0, exit);
        Assert.False(Body(cli).GetProperty("recreateEnv").GetBoolean());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true, "--disk", "none")]
    [InlineData(false, "--no-persist")]
    [InlineData(true)]
    public async Task Reserve_RecreateEnvWithoutDisk_FailsLocally(bool tty, params string[] extra)
    {
        using var cli = new CliHarness(tty);

        var exit = await cli.RunAsync(["reserve", "-t", "h100", "-h", "1", "--recreate-env", .. extra]);

        Assert.Equal(1, exit);
        Assert.Equal("error: --recreate-env needs --disk NAME (it re-creates the shell dotfiles on that disk)", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
        Assert.Empty(cli.Console.Questions);
    }
}

using System.Net;
using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

public sealed class DiskCommandTests
{
    private const string Disks = "/api/v1/disks";
    private const long Gb = 1024L * 1024 * 1024;
    private const string InUseBy = "abcd1234ffffffffffffffffffffffff";

    private static readonly DateTimeOffset Created = new(2029, 12, 1, 8, 0, 0, TimeSpan.Zero);

    internal static DiskDto Disk(string name, string status = "available", Func<DiskDto, DiskDto>? configure = null)
    {
        var d = new DiskDto
        {
            Name = name,
            User = "alice",
            Status = status,
            SizeBytes = (long)(1.2 * Gb),
            QuotaBytes = 100 * Gb,
            CreatedAt = Created,
            LastUsedAt = new DateTimeOffset(2030, 1, 1, 10, 0, 0, TimeSpan.Zero),
            SnapshotCount = 3,
            AttachedTo = status == "in-use" ? InUseBy : null,
        };
        return configure is null ? d : configure(d);
    }

    internal static string Json(DiskDto d) => JsonSerializer.Serialize(d, GpuDevJsonContext.Default.DiskDto);

    internal static string Json(List<DiskDto> d) => JsonSerializer.Serialize(d, GpuDevJsonContext.Default.ListDiskDto);

    private static string Problem(int status, string code, string detail) =>
        $$"""{"title":"x","status":{{status}},"code":"{{code}}","detail":"{{detail}}"}""";

    [Fact]
    public async Task List_Tty_TableWithHumanSizesAndColouredStatuses()
    {
        using var cli = new CliHarness(tty: true);
        var purge = cli.Now.AddDays(29).AddHours(1);
        cli.Http.On("GET", Disks, HttpStatusCode.OK, Json([
            Disk("pytorch-dev"),
            Disk("llm", "in-use"),
            Disk("snap", "backing-up"),
            Disk("old", "deleted", d => d with { DeletedAt = cli.Now.AddDays(-1), PurgeAt = purge }),
        ]));

        var exit = await cli.RunAsync("disk", "list");

        Assert.Equal(0, exit);
        var lines = cli.Console.StdOut.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        Assert.Matches(@"^NAME\s+SIZE\s+CREATED\s+LAST USED\s+SNAPSHOTS\s+STATUS$", lines[0]);
        Assert.Matches(@"^pytorch-dev\s+1\.2 GB / 100 GB\s+32d 2h ago\s+1d ago\s+3\s+available$", lines[1]);
        Assert.EndsWith("in-use (abcd1234)", lines[2], StringComparison.Ordinal);
        Assert.EndsWith("backing-up", lines[3], StringComparison.Ordinal);
        Assert.EndsWith("deleted, purge in 29d 1h", lines[4], StringComparison.Ordinal);
        Assert.Equal($"GET {Disks}", $"{cli.Http.Requests.Single().Method} {cli.Http.Requests.Single().PathAndQuery}");
    }

    [Fact]
    public async Task List_NotTty_TabSeparatedRawValues()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", Disks, HttpStatusCode.OK, Json([Disk("pytorch-dev"), Disk("llm", "in-use", d => d with { LastUsedAt = null })]));

        var exit = await cli.RunAsync("disk", "list");

        Assert.Equal(0, exit);
        Assert.Equal(
            $"pytorch-dev\t{(long)(1.2 * Gb)}\t{100 * Gb}\t2029-12-01T08:00:00Z\t2030-01-01T10:00:00Z\t3\tavailable\t\t\n" +
            $"llm\t{(long)(1.2 * Gb)}\t{100 * Gb}\t2029-12-01T08:00:00Z\t\t3\tin-use\t{InUseBy}\t\n",
            cli.Console.StdOut.Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Empty(cli.Console.StdErr);
    }

    [Fact]
    public async Task List_UserAllJson_QueryAndJsonArray()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Disks}?user=bob&all=true", HttpStatusCode.OK, Json([Disk("x", configure: d => d with { User = "bob" })]));

        var exit = await cli.RunAsync("disk", "list", "--user", "bob", "--all", "--json");

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal(JsonValueKind.Array, doc.RootElement.ValueKind);
        Assert.Equal("bob", doc.RootElement[0].GetProperty("user").GetString());
        Assert.Equal(100 * Gb, doc.RootElement[0].GetProperty("quotaBytes").GetInt64());
    }

    [Fact]
    public async Task List_Forbidden_Exit4()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", $"{Disks}?user=bob", HttpStatusCode.Forbidden, Problem(403, "forbidden", "only admins can list other users' disks"));

        var exit = await cli.RunAsync("disk", "list", "--user", "bob");

        Assert.Equal(4, exit);
        Assert.Equal("error: only admins can list other users' disks", cli.Console.StdErr.Trim());
    }

    [Fact]
    public async Task List_EmptyTty_HintOnStderr()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Disks, HttpStatusCode.OK, "[]");

        var exit = await cli.RunAsync("disk", "list");

        Assert.Equal(0, exit);
        Assert.Empty(cli.Console.StdOut);
        Assert.Contains("gpu-dev disk create NAME", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_Watch_RefreshesEveryTwoSecondsUntilCtrlC()
    {
        using var cli = new CliHarness(tty: true) { DefaultIntervals = true };
        var time = new RecordingTimeProvider(cli.Now);
        cli.Time = time;
        cli.Http.On("GET", Disks, HttpStatusCode.OK, Json([Disk("pytorch-dev")]));
        cli.Http.OnRequest = _ =>
        {
            if (cli.Http.Requests.Count == 3)
            {
                cli.Cancellation.Cancel();
            }
        };

        var exit = await cli.RunAsync("disk", "list", "--watch");

        Assert.Equal(0, exit);
        Assert.Contains("Every 2s: gpu-dev disk list", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.All(time.Delays, d => Assert.Equal(TimeSpan.FromSeconds(2), d));
        Assert.Equal(3, cli.Http.Requests.Count);
    }

    [Fact]
    public async Task Create_PostsNameAndPrintsIt()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Disks, HttpStatusCode.Created, Json(Disk("my-project", configure: d => d with { SizeBytes = 0, SnapshotCount = 0 })));

        var exit = await cli.RunAsync("disk", "create", "my-project");

        Assert.Equal(0, exit);
        using var body = JsonDocument.Parse(Assert.Single(cli.Http.Requests).Body!);
        Assert.Equal("my-project", body.RootElement.GetProperty("name").GetString());
        Assert.Equal("Created disk my-project (100 GB)", cli.Console.StdOut.Trim());
        Assert.Contains("gpu-dev reserve --disk my-project", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("my project")]
    [InlineData("a/b")]
    [InlineData("dísk")]
    [InlineData("x.y")]
    [InlineData("none")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task Create_BadName_OneLineErrorWithoutHttpCall(string name)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("disk", "create", name);

        Assert.Equal(1, exit);
        var line = Assert.Single(cli.Console.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(name == "none" ? "temporary storage" : "1–64 letters, digits, hyphens (-) or underscores (_)", line, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Create_Exists_ConflictMessage()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", Disks, HttpStatusCode.Conflict, Problem(409, "conflict", "disk my-project already exists"));

        var exit = await cli.RunAsync("disk", "create", "my-project");

        Assert.Equal(1, exit);
        Assert.Equal("error: disk my-project already exists", cli.Console.StdErr.Trim());
    }

    [Fact]
    public async Task Delete_NotTtyWithoutYes_RefusedWithoutHttpCall()
    {
        using var cli = new CliHarness(tty: false);

        var exit = await cli.RunAsync("disk", "delete", "old");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: --yes is required to delete a disk when not running in a terminal", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("gpu-dev disk delete old --yes", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Delete_Yes_DeletesAndPrintsPurgeDate()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("DELETE", $"{Disks}/old", HttpStatusCode.OK, Json(Disk("old", "deleted", d => d with { DeletedAt = cli.Now, PurgeAt = cli.Now.AddDays(30) })));

        var exit = await cli.RunAsync("disk", "delete", "old", "-y");

        Assert.Equal(0, exit);
        Assert.StartsWith("Deleted disk old; its snapshots are purged in 30d", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Delete_TtyDeclined_AsksWithPurgeDelayExit2()
    {
        using var cli = new CliHarness(tty: true);
        cli.Console.Answers.Enqueue("n");

        var exit = await cli.RunAsync("disk", "delete", "old");

        Assert.Equal(2, exit);
        Assert.Contains("30 days", Assert.Single(cli.Console.Questions), StringComparison.Ordinal);
        Assert.Contains("Nothing deleted.", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Delete_TtyConfirmed_Deletes()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("DELETE", $"{Disks}/old", HttpStatusCode.OK, Json(Disk("old", "deleted", d => d with { PurgeAt = cli.Now.AddDays(30) })));
        cli.Console.Answers.Enqueue("y");

        var exit = await cli.RunAsync("disk", "delete", "old");

        Assert.Equal(0, exit);
        Assert.Single(cli.Http.To("DELETE", $"{Disks}/old"));
    }

    [Fact]
    public async Task Delete_InUse_ConflictMessagePrinted()
    {
        using var cli = new CliHarness();
        cli.Http.On("DELETE", $"{Disks}/llm", HttpStatusCode.Conflict, Problem(409, "conflict", "disk llm is in use by reservation abcd1234"));

        var exit = await cli.RunAsync("disk", "delete", "llm", "--yes");

        Assert.Equal(1, exit);
        Assert.Equal("error: disk llm is in use by reservation abcd1234", cli.Console.StdErr.Trim());
    }

    [Fact]
    public async Task Delete_Missing_DiskHint()
    {
        using var cli = new CliHarness();
        cli.Http.On("DELETE", $"{Disks}/nope", HttpStatusCode.NotFound, Problem(404, "not-found", "no disk named nope"));

        var exit = await cli.RunAsync("disk", "delete", "nope", "--yes");

        Assert.Equal(1, exit);
        Assert.Equal("error: no disk named nope\nhint: see your disks with `gpu-dev disk list`", cli.Console.StdErr.Trim().Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rename_PostsNewName()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", $"{Disks}/my-project/rename", HttpStatusCode.OK, Json(Disk("pytorch-dev")));

        var exit = await cli.RunAsync("disk", "rename", "my-project", "pytorch-dev");

        Assert.Equal(0, exit);
        using var body = JsonDocument.Parse(Assert.Single(cli.Http.Requests).Body!);
        Assert.Equal("pytorch-dev", body.RootElement.GetProperty("newName").GetString());
        Assert.Equal("Renamed disk my-project to pytorch-dev", cli.Console.StdOut.Trim());
    }

    [Fact]
    public async Task Rename_BadNewName_ErrorWithoutHttpCall()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("disk", "rename", "my-project", "bad name");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: invalid disk name \"bad name\"", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Rename_Conflict_MessagePrinted()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", $"{Disks}/a/rename", HttpStatusCode.Conflict, Problem(409, "conflict", "disk b already exists"));

        var exit = await cli.RunAsync("disk", "rename", "a", "b");

        Assert.Equal(1, exit);
        Assert.Equal("error: disk b already exists", cli.Console.StdErr.Trim());
    }

    private static string Content(string? snapshot, params (string Path, long Size)[] files) =>
        JsonSerializer.Serialize(new DiskContentDto("my-project", snapshot, snapshot is null ? null : new DateTimeOffset(2030, 1, 1, 10, 0, 0, TimeSpan.Zero),
            files.Select(f => new DiskFileDto(f.Path, f.Size)).ToList()), GpuDevJsonContext.Default.DiskContentDto);

    [Fact]
    public async Task ListContent_Tty_TableAndFooter()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Disks}/my-project/content", HttpStatusCode.OK, Content("snap-1", (".bashrc", 3771), ("model.pt", 2 * Gb)));

        var exit = await cli.RunAsync("disk", "list-content", "my-project");

        Assert.Equal(0, exit);
        var lines = cli.Console.StdOut.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        Assert.Matches(@"^\s*SIZE\s+PATH$", lines[0]);
        Assert.Matches(@"^\s*3\.7 KB\s+\.bashrc$", lines[1]);
        Assert.Matches(@"^\s*2 GB\s+model\.pt$", lines[2]);
        Assert.Matches(@"^snapshot of (yesterday|\w{3} \d{1,2} \w{3}( \d{4})?) \d\d:\d\d UTC \(1d ago\), 2 files, 2 GB total$", lines[3]);
    }

    [Fact]
    public async Task ListContent_NotTty_SizeTabPath()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", $"{Disks}/my-project/content", HttpStatusCode.OK, Content("snap-1", (".bashrc", 3771), ("src/main.py", 10)));

        var exit = await cli.RunAsync("disk", "list-content", "my-project");

        Assert.Equal(0, exit);
        Assert.Equal("3771\t.bashrc\n10\tsrc/main.py\n", cli.Console.StdOut.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ListContent_NoSnapshot_MessageOnStderr(bool tty)
    {
        using var cli = new CliHarness(tty);
        cli.Http.On("GET", $"{Disks}/my-project/content", HttpStatusCode.OK, Content(null));

        var exit = await cli.RunAsync("disk", "list-content", "my-project");

        Assert.Equal(0, exit);
        Assert.Empty(cli.Console.StdOut);
        Assert.Contains("no snapshot yet", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListContent_Json_ContentDto()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Disks}/my-project/content", HttpStatusCode.OK, Content("snap-1", ("a", 1)));

        var exit = await cli.RunAsync("disk", "list-content", "my-project", "--json");

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal("snap-1", doc.RootElement.GetProperty("snapshotId").GetString());
        Assert.Equal("a", doc.RootElement.GetProperty("files")[0].GetProperty("path").GetString());
    }
}

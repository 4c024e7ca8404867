using System.Net;
using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

/// <summary><c>gpu-dev disk snapshots</c>, <c>disk restore</c> and <c>disk undelete</c>.</summary>
public sealed class DiskRestoreTests
{
    private const string Disks = "/api/v1/disks";
    private const long Mb = 1024L * 1024;
    private const string Newest = "3f2a9c1e00000000000000000000aaaa";
    private const string Older = "77b01d2200000000000000000000bbbb";
    private const string Reservation = "abcd1234ffffffffffffffffffffffff";

    private static readonly DateTimeOffset NewestAt = new(2030, 1, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset OlderAt = new(2029, 12, 30, 10, 0, 0, TimeSpan.Zero);

    private static string Snapshots(params DiskSnapshotDto[] s) => JsonSerializer.Serialize(s.ToList(), GpuDevJsonContext.Default.ListDiskSnapshotDto);

    private static string TwoSnapshots() => Snapshots(
        new DiskSnapshotDto(Newest, NewestAt, 12 * Mb, 42, Reservation),
        new DiskSnapshotDto(Older, OlderAt, 5 * Mb, 1, null));

    private static string Problem(int status, string code, string detail) =>
        $$"""{"title":"x","status":{{status}},"code":"{{code}}","detail":"{{detail}}"}""";

    private static string Err(CliHarness cli) => cli.Console.StdErr.Trim().Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string? RestoreBodySnapshotId(CliHarness cli)
    {
        using var body = JsonDocument.Parse(Assert.Single(cli.Http.To("POST", $"{Disks}/my-project/restore")).Body!);
        var id = body.RootElement.GetProperty("snapshotId");
        return id.ValueKind == JsonValueKind.Null ? null : id.GetString();
    }

    // ---- disk snapshots ----

    [Fact]
    public async Task Snapshots_Tty_TableNewestFirst()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Disks}/my-project/snapshots", HttpStatusCode.OK, TwoSnapshots());

        var exit = await cli.RunAsync("disk", "snapshots", "my-project");

        Assert.Equal(0, exit);
        var lines = cli.Console.StdOut.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Matches(@"^ID\s+CREATED\s+SIZE\s+FILES\s+RESERVATION$", lines[0]);
        Assert.Matches(@"^3f2a9c1e\s+(yesterday|\w{3} \d{1,2} \w{3}( \d{4})?) \d\d:\d\d UTC \(1d ago\)\s+12 MB\s+42\s+abcd1234$", lines[1]);
        Assert.Matches(@"^77b01d22\s+(yesterday|\w{3} \d{1,2} \w{3}( \d{4})?) \d\d:\d\d UTC \(3d ago\)\s+5 MB\s+1\s+-$", lines[2]);
        Assert.Empty(cli.Console.StdErr);
    }

    [Fact]
    public async Task Snapshots_NotTty_TabSeparatedRawValues()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", $"{Disks}/my-project/snapshots", HttpStatusCode.OK, TwoSnapshots());

        var exit = await cli.RunAsync("disk", "snapshots", "my-project");

        Assert.Equal(0, exit);
        Assert.Equal(
            $"{Newest}\t2030-01-01T10:00:00Z\t{12 * Mb}\t42\t{Reservation}\n" +
            $"{Older}\t2029-12-30T10:00:00Z\t{5 * Mb}\t1\t\n",
            cli.Console.StdOut.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Snapshots_Json_Array()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Disks}/my-project/snapshots", HttpStatusCode.OK, TwoSnapshots());

        var exit = await cli.RunAsync("disk", "snapshots", "my-project", "--json");

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal(Newest, doc.RootElement[0].GetProperty("id").GetString());
        Assert.Equal(42, doc.RootElement[0].GetProperty("fileCount").GetInt32());
        Assert.Equal(JsonValueKind.Null, doc.RootElement[1].GetProperty("reservation").ValueKind);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Snapshots_None_MessageOnStderr(bool tty)
    {
        using var cli = new CliHarness(tty);
        cli.Http.On("GET", $"{Disks}/my-project/snapshots", HttpStatusCode.OK, "[]");

        var exit = await cli.RunAsync("disk", "snapshots", "my-project");

        Assert.Equal(0, exit);
        Assert.Empty(cli.Console.StdOut);
        Assert.Contains("no snapshot yet", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Snapshots_UnknownDisk_DiskHint()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", $"{Disks}/nope/snapshots", HttpStatusCode.NotFound, Problem(404, "not-found", "no disk named nope"));

        var exit = await cli.RunAsync("disk", "snapshots", "nope");

        Assert.Equal(1, exit);
        Assert.Equal("error: no disk named nope\nhint: see your disks with `gpu-dev disk list`", Err(cli));
    }

    // ---- disk restore ----

    [Fact]
    public async Task Restore_NotTtyWithoutYes_RefusedWithoutHttpCall()
    {
        using var cli = new CliHarness(tty: false);

        var exit = await cli.RunAsync("disk", "restore", "my-project");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: --yes is required to restore a disk when not running in a terminal", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("gpu-dev disk restore my-project --yes", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Restore_NotTtyYes_PostsNullForLatestWithoutListing()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("POST", $"{Disks}/my-project/restore", HttpStatusCode.OK, DiskCommandTests.Json(DiskCommandTests.Disk("my-project")));

        var exit = await cli.RunAsync("disk", "restore", "my-project", "--yes");

        Assert.Equal(0, exit);
        Assert.Null(RestoreBodySnapshotId(cli));
        Assert.Single(cli.Http.Requests);
        Assert.Equal("Restored disk my-project from its latest snapshot", cli.Console.StdOut.Trim());
    }

    [Fact]
    public async Task Restore_NotTtyYesSnapshotPrefix_ResolvedToFullId()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", $"{Disks}/my-project/snapshots", HttpStatusCode.OK, TwoSnapshots());
        cli.Http.On("POST", $"{Disks}/my-project/restore", HttpStatusCode.OK, DiskCommandTests.Json(DiskCommandTests.Disk("my-project")));

        var exit = await cli.RunAsync("disk", "restore", "my-project", "--snapshot", "77b01d22", "-y");

        Assert.Equal(0, exit);
        Assert.Equal(Older, RestoreBodySnapshotId(cli));
        Assert.Matches(@"^Restored disk my-project from the snapshot of (yesterday|\w{3} \d{1,2} \w{3}( \d{4})?) \d\d:\d\d UTC \(3d ago\) \(77b01d22\)$", cli.Console.StdOut.Trim());
    }

    [Fact]
    public async Task Restore_UnknownSnapshot_ErrorWithoutRestore()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", $"{Disks}/my-project/snapshots", HttpStatusCode.OK, TwoSnapshots());

        var exit = await cli.RunAsync("disk", "restore", "my-project", "--snapshot", "ffff", "--yes");

        Assert.Equal(1, exit);
        Assert.Equal("error: disk my-project has no snapshot \"ffff\"\nhint: see its snapshots with `gpu-dev disk snapshots my-project`", Err(cli));
        Assert.Empty(cli.Http.To("POST", Disks));
    }

    [Fact]
    public async Task Restore_TtyPicksSnapshotThenConfirms()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Disks}/my-project/snapshots", HttpStatusCode.OK, TwoSnapshots());
        cli.Http.On("POST", $"{Disks}/my-project/restore", HttpStatusCode.OK, DiskCommandTests.Json(DiskCommandTests.Disk("my-project")));
        IReadOnlyList<string>? choices = null;
        cli.Console.OnSelect = c => choices = c;
        cli.Console.Answers.Enqueue("77b01d22");
        cli.Console.Answers.Enqueue("y");

        var exit = await cli.RunAsync("disk", "restore", "my-project");

        Assert.Equal(0, exit);
        Assert.NotNull(choices);
        Assert.Equal(2, choices.Count);
        Assert.Matches(@"^3f2a9c1e  (yesterday|\w{3} \d{1,2} \w{3}( \d{4})?) \d\d:\d\d UTC \(1d ago\)  12 MB, 42 files, reservation abcd1234  \(latest\)$", choices[0]);
        Assert.Matches(@"^77b01d22  .*\(3d ago\)  5 MB, 1 file$", choices[1]);
        Assert.Equal(2, cli.Console.Questions.Count);
        Assert.Matches(@"^Replace the content of my-project with the snapshot of (yesterday|\w{3} \d{1,2} \w{3}( \d{4})?) \d\d:\d\d UTC \(3d ago\)\? The current content is kept until the next snapshot\.$", cli.Console.Questions[1]);
        Assert.Equal(Older, RestoreBodySnapshotId(cli));
    }

    [Fact]
    public async Task Restore_TtyDeclined_NothingRestoredExit2()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Disks}/my-project/snapshots", HttpStatusCode.OK, TwoSnapshots());
        cli.Console.Answers.Enqueue("3f2a9c1e");
        cli.Console.Answers.Enqueue("n");

        var exit = await cli.RunAsync("disk", "restore", "my-project");

        Assert.Equal(2, exit);
        Assert.Contains("Nothing restored.", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.To("POST", Disks));
    }

    [Fact]
    public async Task Restore_TtyWithSnapshot_OnlyConfirms()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Disks}/my-project/snapshots", HttpStatusCode.OK, TwoSnapshots());
        cli.Http.On("POST", $"{Disks}/my-project/restore", HttpStatusCode.OK, DiskCommandTests.Json(DiskCommandTests.Disk("my-project")));
        cli.Console.Answers.Enqueue("y");

        var exit = await cli.RunAsync("disk", "restore", "my-project", "--snapshot", Newest);

        Assert.Equal(0, exit);
        Assert.Contains("(1d ago)?", Assert.Single(cli.Console.Questions), StringComparison.Ordinal);
        Assert.Equal(Newest, RestoreBodySnapshotId(cli));
    }

    [Fact]
    public async Task Restore_TtyNoSnapshots_ErrorWithoutPrompt()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Disks}/my-project/snapshots", HttpStatusCode.OK, "[]");

        var exit = await cli.RunAsync("disk", "restore", "my-project");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: disk my-project has no snapshot yet; nothing to restore", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Console.Questions);
        Assert.Empty(cli.Http.To("POST", Disks));
    }

    [Fact]
    public async Task Restore_InUse_ConflictWithHint()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("POST", $"{Disks}/my-project/restore", HttpStatusCode.Conflict, Problem(409, "conflict", "disk my-project is in use by reservation abcd1234"));

        var exit = await cli.RunAsync("disk", "restore", "my-project", "--yes");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: disk my-project is in use by reservation abcd1234\nhint: a disk in use cannot be restored", Err(cli), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_Json_DiskDto()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("POST", $"{Disks}/my-project/restore", HttpStatusCode.OK, DiskCommandTests.Json(DiskCommandTests.Disk("my-project")));

        var exit = await cli.RunAsync("disk", "restore", "my-project", "--yes", "--json");

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal("my-project", doc.RootElement.GetProperty("name").GetString());
    }

    // ---- disk undelete ----

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Undelete_PostsWithoutBodyAndPrintsIt(bool tty)
    {
        using var cli = new CliHarness(tty);
        cli.Http.On("POST", $"{Disks}/old/undelete", HttpStatusCode.OK, DiskCommandTests.Json(DiskCommandTests.Disk("old")));

        var exit = await cli.RunAsync("disk", "undelete", "old");

        Assert.Equal(0, exit);
        Assert.Null(Assert.Single(cli.Http.Requests).Body);
        Assert.Equal("Undeleted disk old (3 snapshots)", cli.Console.StdOut.Trim());
        Assert.Contains("gpu-dev reserve --disk old", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Console.Questions);
    }

    [Fact]
    public async Task Undelete_NameTaken_ConflictWithRenameHint()
    {
        using var cli = new CliHarness();
        cli.Http.On("POST", $"{Disks}/old/undelete", HttpStatusCode.Conflict, Problem(409, "conflict", "a disk named old already exists"));

        var exit = await cli.RunAsync("disk", "undelete", "old");

        Assert.Equal(1, exit);
        Assert.Equal("error: a disk named old already exists\nhint: rename the current disk first (`gpu-dev disk rename old NEW_NAME`), then undelete", Err(cli));
    }

    [Fact]
    public async Task Undelete_NotDeletedOrPurged_ListAllHint()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("POST", $"{Disks}/old/undelete", HttpStatusCode.NotFound, Problem(404, "not-found", "no deleted disk named old"));

        var exit = await cli.RunAsync("disk", "undelete", "old");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: no deleted disk named old\nhint: see your deleted disks with `gpu-dev disk list --all`", Err(cli), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Undelete_Json_DiskDto()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("POST", $"{Disks}/old/undelete", HttpStatusCode.OK, DiskCommandTests.Json(DiskCommandTests.Disk("old")));

        var exit = await cli.RunAsync("disk", "undelete", "old", "--json");

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal("available", doc.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Undelete_BadName_ErrorWithoutHttpCall()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("disk", "undelete", "a/b");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: invalid disk name", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }
}

using System.Net;
using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

public sealed class UsageCommandTests
{
    private const string Path = "/api/v1/usage";

    private static string Report(DateTimeOffset now, string? user = "alice") => JsonSerializer.Serialize(
        new UsageReportDto
        {
            Since = now.AddDays(-7),
            At = now,
            User = user,
            Rows =
            [
                new UsageRowDto("alice", "a100", 1, 4, 4),
                new UsageRowDto("alice", "h100", 3, 11, 4.5),
                new UsageRowDto("bob", "t4", 1, 0, 0),
            ],
            Total = new UsageTotalDto(5, 15, 8.5),
        },
        GpuDevJsonContext.Default.UsageReportDto);

    [Fact]
    public async Task Execute_Tty_WindowLineTableAndTotal()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Path, HttpStatusCode.OK, Report(cli.Now));

        var exit = await cli.RunAsync("usage");

        Assert.Equal(0, exit);
        var lines = cli.Console.StdOut.Split('\n');
        Assert.Equal("GPU usage of alice since 2029-12-26 10:00 UTC (7 days)", lines[0]);
        foreach (var header in new[] { "USER", "GPU TYPE", "RESERVATIONS", "BOOKED GPU-H", "USED GPU-H", "USED %" })
        {
            Assert.Contains(header, lines[1], StringComparison.Ordinal);
        }

        Assert.Equal(["alice", "h100", "3", "11.0", "4.5", "40.9", "%"], Cells(Assert.Single(lines, l => l.Contains("h100", StringComparison.Ordinal))));
        Assert.Equal(["alice", "a100", "1", "4.0", "4.0", "100.0", "%"], Cells(Assert.Single(lines, l => l.Contains("a100", StringComparison.Ordinal))));
        Assert.Equal(["bob", "t4", "1", "0.0", "0.0", "-"], Cells(Assert.Single(lines, l => l.Contains("t4", StringComparison.Ordinal))));
        Assert.Equal(["TOTAL", "5", "15.0", "8.5", "56.7", "%"], Cells(Assert.Single(lines, l => l.StartsWith("TOTAL", StringComparison.Ordinal))));
        Assert.Equal(Path, Assert.Single(cli.Http.Requests).PathAndQuery);
        Assert.Empty(cli.Console.StdErr);
    }

    [Fact]
    public async Task Execute_NonTty_TabSeparatedRowsOnly()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", $"{Path}?user=all&since=30d", HttpStatusCode.OK, Report(cli.Now, user: null));

        var exit = await cli.RunAsync("usage", "--user", "all", "--since", "30d");

        Assert.Equal(0, exit);
        Assert.Equal(
        [
            "alice\ta100\t1\t4\t4\t100",
            "alice\th100\t3\t11\t4.5\t40.9",
            "bob\tt4\t1\t0\t0\t",
        ], cli.Console.StdOut.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Execute_AllUsersTty_SaysAllUsersAndAnAbsoluteSinceIsSentAsTyped()
    {
        using var cli = new CliHarness(tty: true);
        var body = Report(cli.Now, user: null).Replace("2029-12-26T10:00:00+00:00", "2029-12-01T00:00:00+00:00", StringComparison.Ordinal);
        cli.Http.On("GET", $"{Path}?since=2029-12-01", HttpStatusCode.OK, body);

        var exit = await cli.RunAsync("usage", "--since", "2029-12-01");

        Assert.Equal(0, exit);
        Assert.Equal("GPU usage of all users since 2029-12-01 00:00 UTC (32d 10h)", cli.Console.StdOut.Split('\n')[0]);
    }

    [Fact]
    public async Task Execute_Json_PrintsTheReport()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"{Path}?user=alice&since=24h", HttpStatusCode.OK, Report(cli.Now));

        var exit = await cli.RunAsync("usage", "-u", "alice", "--since", "24h", "--json");

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal("alice", doc.RootElement.GetProperty("user").GetString());
        Assert.Equal(3, doc.RootElement.GetProperty("rows").GetArrayLength());
        Assert.Equal(11, doc.RootElement.GetProperty("rows")[1].GetProperty("bookedGpuHours").GetDouble());
        Assert.Equal(8.5, doc.RootElement.GetProperty("total").GetProperty("usedGpuHours").GetDouble());
        Assert.True(doc.RootElement.TryGetProperty("since", out _));
        Assert.Empty(cli.Console.StdErr);
    }

    [Fact]
    public async Task Execute_NoRowsOnTty_MessageWithTheWindowOnStderr()
    {
        using var cli = new CliHarness(tty: true);
        var empty = new UsageReportDto { Since = cli.Now.AddHours(-24), At = cli.Now, User = "alice" };
        cli.Http.On("GET", $"{Path}?since=24h", HttpStatusCode.OK, JsonSerializer.Serialize(empty, GpuDevJsonContext.Default.UsageReportDto));

        var exit = await cli.RunAsync("usage", "--since", "24h");

        Assert.Equal(0, exit);
        Assert.Empty(cli.Console.StdOut);
        Assert.Equal("No reservations since 2030-01-01 10:00 UTC (24 hours)", cli.Console.StdErr.Trim());
    }

    [Theory]
    [InlineData("--since", "yesterday", "error: --since must be a UTC date or time (2026-11-01, 2026-11-01T08:00:00Z) or an age (30m, 24h, 7d); got \"yesterday\"")]
    [InlineData("--since", "7w", "error: --since must be")]
    [InlineData("--user", " ", "error: --user must name a user, or `all`")]
    public async Task Execute_BadArgument_Exit1WithoutRequest(string option, string value, string expected)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("usage", option, value);

        Assert.Equal(1, exit);
        Assert.StartsWith(expected, cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Execute_AnotherUserNotAdmin_Exit4WithTheRule()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", $"{Path}?user=bob", HttpStatusCode.Forbidden,
            """{"title":"Not allowed.","detail":"Only admins can see another user's usage, or everybody's; you can see your own (leave out user, or user=alice).","code":"forbidden","status":403}""");

        var exit = await cli.RunAsync("usage", "--user", "bob");

        Assert.Equal(4, exit);
        Assert.Contains("error: Only admins can see another user's usage", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_SinceInTheFuture_Exit1WithTheServersReason()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", $"{Path}?since=2031-01-01", HttpStatusCode.BadRequest,
            """{"title":"The request is not valid.","detail":"since 2031-01-01T00:00:00Z is in the future (the server's time is 2030-01-02T10:00:00Z); the window ends now.","code":"bad-request","status":400}""");

        var exit = await cli.RunAsync("usage", "--since", "2031-01-01");

        Assert.Equal(1, exit);
        Assert.Contains("is in the future", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ExplainsTheDefinitions()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("usage", "--help");

        Assert.Equal(0, exit);
        Assert.Contains("GPUs × the time the reservation held them", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("gpu-dev usage --since 30d", cli.Console.StdOut, StringComparison.Ordinal);
    }

    private static string[] Cells(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}

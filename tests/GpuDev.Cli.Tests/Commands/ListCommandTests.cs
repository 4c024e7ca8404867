using System.Net;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

public sealed class ListCommandTests
{
    private const string Path = "/api/v1/reservations";

    private static List<ReservationDto> Two() =>
    [
        CliHarness.Reservation("active"),
        CliHarness.Reservation("queued", "0123456789abcdef0123456789abcdef", b => { b.QueuePosition = 2; b.Name = null; b.User = "bob"; b.GpuType = "a100"; b.GpuCount = 8; }),
    ];

    [Fact]
    public async Task Execute_NonTty_TabSeparatedRawValuesWithoutHeader()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", Path, HttpStatusCode.OK, CliHarness.Json(Two()));

        var exit = await cli.RunAsync("list");

        Assert.Equal(0, exit);
        var lines = cli.Console.StdOut.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Equal("abcdef1234567890abcdef1234567890\ttrain\talice\tactive\th100\t2\t2030-01-02T09:00:00Z\t2030-01-02T13:05:00Z", lines[0]);
        Assert.Equal("0123456789abcdef0123456789abcdef\t\tbob\tqueued\ta100\t8\t2030-01-02T09:00:00Z\t", lines[1]);
        Assert.DoesNotContain("ID", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_Tty_TableWithUpperCaseHeadersAndRelativeTimes()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Path, HttpStatusCode.OK, CliHarness.Json(Two()));

        var exit = await cli.RunAsync("ls");

        Assert.Equal(0, exit);
        var output = cli.Console.StdOut;
        foreach (var header in new[] { "ID", "NAME", "USER", "STATUS", "GPUS", "CREATED", "EXPIRES" })
        {
            Assert.Contains(header, output, StringComparison.Ordinal);
        }

        Assert.Contains("abcdef12 ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("abcdef1234", output, StringComparison.Ordinal);
        Assert.Contains("2×h100", output, StringComparison.Ordinal);
        Assert.Contains("expires in 3h 5m", output, StringComparison.Ordinal);
        Assert.Contains($"#2, starts by {Format.LocalTime(cli.Now.AddHours(1), cli.Now)} (in 1h)", output, StringComparison.Ordinal);
        Assert.Contains("1h ago", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_JsonNone_PrintsEmptyArray()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Path, HttpStatusCode.OK, "[]");

        var exit = await cli.RunAsync("list", "--json");

        Assert.Equal(0, exit);
        Assert.Equal("[]", cli.Console.StdOut.Trim());
        Assert.Empty(cli.Console.StdErr);
    }

    [Fact]
    public async Task Execute_NoneOnTty_MessageOnStderrOnly()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Path, HttpStatusCode.OK, "[]");

        var exit = await cli.RunAsync("list");

        Assert.Equal(0, exit);
        Assert.Empty(cli.Console.StdOut);
        Assert.Contains("No reservations found", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_NoneWhenPiped_PrintsNothing()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", Path, HttpStatusCode.OK, "[]");

        var exit = await cli.RunAsync("list");

        Assert.Equal(0, exit);
        Assert.Empty(cli.Console.StdOut);
        Assert.Empty(cli.Console.StdErr);
    }

    [Fact]
    public async Task Execute_Filters_SentAsQueryParameters()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", $"{Path}?user=all&status=queued&all=true", HttpStatusCode.OK, "[]");

        var exit = await cli.RunAsync("list", "-u", "all", "-s", "queued", "-a", "--json");

        Assert.Equal(0, exit);
        Assert.Equal("[]", cli.Console.StdOut.Trim());
    }

    [Fact]
    public async Task Execute_InvalidStatus_OneLineErrorListingStatuses()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("list", "-s", "running");

        Assert.Equal(1, exit);
        Assert.Equal("error: --status must be one of pending, queued, preparing, active, expired, cancelled, failed; got \"running\"", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Execute_QueuedOnTty_ExpiresColumnShowsPositionAndEta()
    {
        using var cli = new CliHarness(tty: true);
        var eta = cli.Now.AddMinutes(35);
        cli.Http.On("GET", Path, HttpStatusCode.OK, CliHarness.Json(
        [
            CliHarness.Reservation("queued", configure: b => { b.QueuePosition = 1; b.EstimatedStartAt = eta; }),
            CliHarness.Reservation("queued", "0123456789abcdef0123456789abcdef", b => { b.QueuePosition = 2; b.UnknownStart = true; }),
        ]));

        var exit = await cli.RunAsync("list");

        Assert.Equal(0, exit);
        Assert.Contains($"#1, starts by {Format.LocalTime(eta, cli.Now)} (in 35m)", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("#2, start unknown", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_QueuedWithLikelyStart_ShowsGuaranteedAndLikely()
    {
        using var cli = new CliHarness(tty: true);
        var eta = cli.Now.AddHours(3);
        var likely = cli.Now.AddMinutes(80);
        cli.Http.On("GET", Path, HttpStatusCode.OK, CliHarness.Json(
        [
            CliHarness.Reservation("queued", configure: b => { b.QueuePosition = 1; b.EstimatedStartAt = eta; b.LikelyStartAt = likely; }),
        ]));

        var exit = await cli.RunAsync("list");

        Assert.Equal(0, exit);
        Assert.Contains($"#1, starts by {Format.LocalTime(eta, cli.Now)} (likely ~{Format.LocalTime(likely, cli.Now)}, in 1h 20m)",
            cli.Console.StdOut.ReplaceLineEndings(" "), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_Watch_RedrawsEvery2SecondsUntilCtrlCThenExits0()
    {
        using var cli = new CliHarness(tty: true);
        var clock = new RecordingTimeProvider(cli.Now);
        cli.Time = clock;
        cli.DefaultIntervals = true;
        cli.Http.On("GET", Path, HttpStatusCode.OK, CliHarness.Json(Two()));
        cli.Http.OnRequest = _ =>
        {
            if (cli.Http.Requests.Count == 3)
            {
                cli.Cancellation.Cancel();
            }
        };

        var exit = await cli.RunAsync("list", "--watch");

        Assert.Equal(0, exit);
        Assert.Equal(3, cli.Http.Requests.Count);
        Assert.Equal([TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2)], clock.Delays);
        Assert.Contains("Every 2s: gpu-dev list", cli.Console.StdOut, StringComparison.Ordinal);
    }
}

using System.Net;
using System.Text.Json;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

public sealed class AvailCommandTests
{
    private const string Path = "/api/v1/availability";

    private static string Availability(DateTimeOffset now) => JsonSerializer.Serialize(
        new AvailabilityResponse(now,
        [
            new GpuAvailabilityDto
            {
                GpuType = "h100", GpusPerNode = 8, Nodes = 2, Total = 16, Free = 3, LargestFreeBlock = 2, LargestFreeBlockNode = "local-1",
                Queued = 2, QueuedGpus = 12, NextFreeAt = null, FullNodeFreeAt = now.AddMinutes(35), Simulated = true,
                LikelyFullNodeFreeAt = now.AddMinutes(33),
            },
            new GpuAvailabilityDto
            {
                GpuType = "a100", GpusPerNode = 4, Nodes = 1, Total = 4, Free = 0, LargestFreeBlock = 0,
                Queued = 0, QueuedGpus = 0, NextFreeAt = now.AddHours(2).AddMinutes(5), FullNodeFreeAt = null,
                LikelyNextFreeAt = now.AddMinutes(40),
            },
        ]),
        GpuDevJsonContext.Default.AvailabilityResponse);

    [Fact]
    public async Task Execute_Tty_TablePerTypeWithRelativeTimes()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Path, HttpStatusCode.OK, Availability(cli.Now));

        var exit = await cli.RunAsync("avail");

        Assert.Equal(0, exit);
        var output = cli.Console.StdOut;
        foreach (var header in new[] { "TYPE", "FREE", "LARGEST BLOCK", "NODES×GPUS", "QUEUED", "NEXT FREE", "FULL NODE" })
        {
            Assert.Contains(header, output, StringComparison.Ordinal);
        }

        var lines = output.Split('\n');
        var h100 = Assert.Single(lines, l => l.StartsWith("h100", StringComparison.Ordinal));
        Assert.Contains("h100 (simulated)", h100, StringComparison.Ordinal);
        Assert.Contains("3/16", h100, StringComparison.Ordinal);
        Assert.Contains("2 on local-1", h100, StringComparison.Ordinal);
        Assert.Contains("2×8", h100, StringComparison.Ordinal);
        Assert.Contains("2 (12 GPUs)", h100, StringComparison.Ordinal);
        Assert.Contains("now", h100, StringComparison.Ordinal);
        Assert.Contains($"in 35m ({Format.LocalTime(cli.Now.AddMinutes(35), cli.Now)})", h100, StringComparison.Ordinal);
        Assert.DoesNotContain("likely", h100, StringComparison.Ordinal); // 2 minutes sooner is not worth saying

        var a100 = Assert.Single(lines, l => l.StartsWith("a100", StringComparison.Ordinal));
        Assert.DoesNotContain("simulated", a100, StringComparison.Ordinal);
        Assert.Contains("0/4", a100, StringComparison.Ordinal);
        Assert.Contains($"in 2h 5m ({Format.LocalTime(cli.Now.AddHours(2).AddMinutes(5), cli.Now)}); likely in 40m", a100, StringComparison.Ordinal);
        Assert.Contains("never", a100, StringComparison.Ordinal);
        Assert.Equal($"{Path}", Assert.Single(cli.Http.Requests).PathAndQuery);
    }

    [Fact]
    public async Task Execute_NonTty_TabSeparatedRawValuesWithoutHeader()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", Path, HttpStatusCode.OK, Availability(cli.Now));

        var exit = await cli.RunAsync("avail");

        Assert.Equal(0, exit);
        var lines = cli.Console.StdOut.TrimEnd('\n').Split('\n');
        Assert.Equal(
        [
            "h100\t3\t16\t2\tlocal-1\t2\t8\t2\t12\t\t2030-01-02T10:35:00Z\ttrue\t\t2030-01-02T10:33:00Z",
            "a100\t0\t4\t0\t\t1\t4\t0\t0\t2030-01-02T12:05:00Z\t\tfalse\t2030-01-02T10:40:00Z\t",
        ], lines);
        Assert.Empty(cli.Console.StdErr);
    }

    [Fact]
    public async Task Execute_Json_PrintsAvailabilityResponse()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Path, HttpStatusCode.OK, Availability(cli.Now));

        var exit = await cli.RunAsync("avail", "--json");

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        var types = doc.RootElement.GetProperty("types");
        Assert.Equal(2, types.GetArrayLength());
        var h100 = types[0];
        Assert.Equal("h100", h100.GetProperty("gpuType").GetString());
        Assert.Equal(2, h100.GetProperty("largestFreeBlock").GetInt32());
        Assert.Equal("local-1", h100.GetProperty("largestFreeBlockNode").GetString());
        Assert.Equal(12, h100.GetProperty("queuedGpus").GetInt32());
        Assert.True(h100.GetProperty("simulated").GetBoolean());
        Assert.True(doc.RootElement.TryGetProperty("at", out _));
        Assert.Empty(cli.Console.StdErr);
    }

    [Fact]
    public async Task Execute_NoTypesOnTty_MessageOnStderr()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Path, HttpStatusCode.OK, """{"at":"2030-01-02T10:00:00Z","types":[]}""");

        var exit = await cli.RunAsync("avail");

        Assert.Equal(0, exit);
        Assert.Empty(cli.Console.StdOut);
        Assert.Contains("no GPU nodes", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_Watch_RedrawsEvery5SecondsUntilCtrlCThenExits0()
    {
        using var cli = new CliHarness(tty: true);
        var clock = new RecordingTimeProvider(cli.Now);
        cli.Time = clock;
        cli.DefaultIntervals = true;
        cli.Http.On("GET", Path, HttpStatusCode.OK, Availability(cli.Now));
        cli.Http.OnRequest = _ =>
        {
            if (cli.Http.Requests.Count == 3)
            {
                cli.Cancellation.Cancel();
            }
        };

        var exit = await cli.RunAsync("avail", "--watch");

        Assert.Equal(0, exit);
        Assert.Equal(3, cli.Http.Requests.Count);
        Assert.Equal([TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5)], clock.Delays);
        Assert.Contains("Every 5s: gpu-dev avail", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("error", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_Unauthorized_Exit4()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", Path, HttpStatusCode.Unauthorized, """{"title":"Unauthorized","status":401,"code":"unauthorized","detail":"invalid or missing token"}""");

        var exit = await cli.RunAsync("avail");

        Assert.Equal(4, exit);
        Assert.StartsWith("error: invalid or missing token", cli.Console.StdErr, StringComparison.Ordinal);
    }
}

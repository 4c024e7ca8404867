using System.Net;
using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

public sealed class StatusCommandTests
{
    private const string Path = "/api/v1/status";

    private static string Status(DateTimeOffset now) => JsonSerializer.Serialize(
        new ClusterStatusDto
        {
            Provider = "local",
            At = now,
            Nodes = 2,
            TotalGpus = 16,
            ReservedGpus = 10,
            FreeGpus = 6,
            ActiveReservations = 3,
            PreparingReservations = 1,
            QueuedReservations = 2,
            NodeList = [new NodeStatusDto("local-1", "h100", 8, 2, false), new NodeStatusDto("local-2", "h100", 8, 4, true)],
        },
        GpuDevJsonContext.Default.ClusterStatusDto);

    [Fact]
    public async Task Execute_Tty_CountsAndNodeTable()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", Path, HttpStatusCode.OK, Status(cli.Now));

        var exit = await cli.RunAsync("status");

        Assert.Equal(0, exit);
        var output = cli.Console.StdOut;
        foreach (var expected in new[]
        {
            "Provider:    local", "Nodes:       2", "Capacity:    16 GPUs", "Reserved:    10 GPUs", "Free:        6 GPUs",
            "Active:      3", "Preparing:   1", "Queued:      2", "NAME", "TYPE", "GPUS", "FREE",
        })
        {
            Assert.Contains(expected, output, StringComparison.Ordinal);
        }

        var lines = output.Split('\n');
        var node1 = Assert.Single(lines, l => l.StartsWith("local-1", StringComparison.Ordinal));
        Assert.DoesNotContain("simulated", node1, StringComparison.Ordinal);
        var node2 = Assert.Single(lines, l => l.StartsWith("local-2", StringComparison.Ordinal));
        Assert.Contains("h100 (simulated)", node2, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_NonTty_KeyValueLinesThenNodeRows()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", Path, HttpStatusCode.OK, Status(cli.Now));

        var exit = await cli.RunAsync("status");

        Assert.Equal(0, exit);
        Assert.Equal(
        [
            "provider\tlocal",
            "at\t2030-01-02T10:00:00Z",
            "nodes\t2",
            "totalGpus\t16",
            "reservedGpus\t10",
            "freeGpus\t6",
            "activeReservations\t3",
            "preparingReservations\t1",
            "queuedReservations\t2",
            "node\tlocal-1\th100\t8\t2\tfalse",
            "node\tlocal-2\th100\t8\t4\ttrue",
        ], cli.Console.StdOut.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Execute_Json_PrintsClusterStatusDto()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", Path, HttpStatusCode.OK, Status(cli.Now));

        var exit = await cli.RunAsync("status", "--json");

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal(16, doc.RootElement.GetProperty("totalGpus").GetInt32());
        Assert.Equal(2, doc.RootElement.GetProperty("queuedReservations").GetInt32());
        Assert.Equal("local-2", doc.RootElement.GetProperty("nodeList")[1].GetProperty("name").GetString());
    }
}

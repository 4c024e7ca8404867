using System.Net;
using System.Text.Json;

namespace GpuDev.Cli.Tests.Commands;

public sealed class ShowCommandTests
{
    [Fact]
    public async Task Execute_Json_HasStableFieldNames()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", "/api/v1/reservations/abcdef12", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("active", configure: b => b.HostKey = "ssh-ed25519 AAAA")));

        var exit = await cli.RunAsync("show", "abcdef12", "--json");

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        var root = doc.RootElement;
        Assert.Equal(JsonValueKind.Object, root.ValueKind);
        foreach (var field in new[] { "id", "createdAt", "status", "gpuType", "gpuCount", "ssh", "expiresAt", "queuePosition", "estimatedStartAt", "waitReason", "history" })
        {
            Assert.True(root.TryGetProperty(field, out _), $"missing {field}");
        }

        foreach (var field in new[] { "host", "port", "user", "command" })
        {
            Assert.True(root.GetProperty("ssh").TryGetProperty(field, out _), $"missing ssh.{field}");
        }

        Assert.Equal("abcdef1234567890abcdef1234567890", root.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Execute_IdPrefix_PassedThroughToServer()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.OK, CliHarness.Json(CliHarness.Reservation("queued", configure: b => { b.QueuePosition = 3; b.WaitReason = "no free h100"; })));

        var exit = await cli.RunAsync("show", "abcd");

        Assert.Equal(0, exit);
        Assert.Equal("/api/v1/reservations/abcd", Assert.Single(cli.Http.Requests).PathAndQuery);
        Assert.Contains("abcdef1234567890abcdef1234567890", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("no free h100", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("History:", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_AmbiguousPrefix_ErrorFromProblemDetails()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", "/api/v1/reservations/abcd", HttpStatusCode.Conflict,
            """{"title":"Ambiguous ID","status":409,"code":"ambiguous-id","detail":"abcd matches 2 reservations: abcd1111, abcd2222"}""");

        var exit = await cli.RunAsync("show", "abcd");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: abcd matches 2 reservations: abcd1111, abcd2222\nhint:", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_NoIdNonePiped_JsonEmptyArray()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", "/api/v1/reservations", HttpStatusCode.OK, "[]");

        var exit = await cli.RunAsync("show", "--json");

        Assert.Equal(0, exit);
        Assert.Equal("[]", cli.Console.StdOut.Trim());
    }

    [Fact]
    public async Task Execute_NonTty_ShowsActiveDetailsWithRfc3339()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", "/api/v1/reservations", HttpStatusCode.OK, CliHarness.Json([CliHarness.Reservation("active")]));

        var exit = await cli.RunAsync("show");

        Assert.Equal(0, exit);
        Assert.Contains("ssh -p 30001 dev@10.0.0.5", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("2030-01-02T13:05:00Z", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("node-a (GPUs 0,1)", cli.Console.StdOut, StringComparison.Ordinal);
    }
}

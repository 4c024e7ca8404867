using System.Net;
using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.EndToEnd.Tests;

/// <summary>The real server's console log with <c>--log-format json</c>: every line one JSON object, successful requests
/// silent, a failed one exactly one line.</summary>
public sealed class LoggingTests
{
    [Fact]
    public async Task LogFormatJson_EveryLineIsJson_OnlyTheFailedRequestIsLogged()
    {
        await using var server = await ServerProcess.StartAsync("h100:8", extraArgs: ["--log-format", "json"]);
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(Routes.Health, UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(Routes.OpenApi, UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri(Routes.Status, UriKind.Relative))).StatusCode);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!server.Log.Contains("GpuDev.Server.Requests", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no request line in the log:\n{server.Log}");
            await Task.Delay(50);
        }

        var entries = server.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse).ToList();
        var requests = entries.Where(e => e.Category == "GpuDev.Server.Requests").ToList();

        Assert.Contains(entries, e => e is { Level: "Information", Category: "GpuDev.Server.Hosting.StartupService" } && e.Message.StartsWith("Node local-0: 8 x h100", StringComparison.Ordinal));
        Assert.DoesNotContain(entries, e => e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) && e.Level is "Information" or "Debug" or "Trace");
        var request = Assert.Single(requests);
        Assert.Equal("Warning", request.Level);
        Assert.Matches(@"^GET /api/v1/status -> 401 \(\d+ ms\)$", request.Message);
    }

    private sealed record Entry(string Level, string Category, string Message);

    private static Entry Parse(string line)
    {
        try
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            Assert.True(root.TryGetProperty("Timestamp", out _), $"no Timestamp: {line}");
            return new Entry(root.GetProperty("LogLevel").GetString()!, root.GetProperty("Category").GetString()!, root.GetProperty("Message").GetString()!);
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"not a JSON log line: {line}", e);
        }
    }
}

using System.Net;
using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

public sealed class AdminAuditCommandTests
{
    private const string Id = "abcdef1234567890abcdef1234567890";

    private static string Entries(DateTimeOffset now) => JsonSerializer.Serialize(
        new List<AuditEntryDto>
        {
            new() { Id = 7, At = now.AddMinutes(-5), Actor = "bob", Action = "DELETE /api/v1/reservations/{id}", Target = Id, Outcome = 200, RemoteAddress = "192.0.2.7" },
            new() { Id = 5, At = now.AddMinutes(-9), Actor = "system:job", Action = "transition preparing->active", Target = Id, Outcome = 200, Detail = "ssh handshake succeeded" },
            new() { Id = 3, At = now.AddMinutes(-10), Actor = "anonymous", Action = "POST /api/v1/reservations/", Outcome = 401, RemoteAddress = "198.51.100.1", Detail = "The token is not valid." },
        },
        GpuDevJsonContext.Default.ListAuditEntryDto);

    [Fact]
    public async Task Execute_Tty_TableWithWhoWhatWhenWhere()
    {
        using var cli = new CliHarness(tty: true);
        cli.Http.On("GET", $"/api/v1/admin/audit?target={Id}", HttpStatusCode.OK, Entries(cli.Now));

        var exit = await cli.RunAsync("admin", "audit", "--reservation", Id);

        Assert.Equal(0, exit);
        var lines = cli.Console.StdOut.Split('\n');
        foreach (var header in new[] { "TIME (UTC)", "ACTOR", "ACTION", "TARGET", "OUTCOME", "FROM" })
        {
            Assert.Contains(header, lines[0], StringComparison.Ordinal);
        }

        var bob = Assert.Single(lines, l => l.Contains("bob", StringComparison.Ordinal));
        foreach (var cell in new[] { "2030-01-02 09:55:00", "DELETE /api/v1/reservations/{id}", "abcdef12", "200", "192.0.2.7" })
        {
            Assert.Contains(cell, bob, StringComparison.Ordinal);
        }

        Assert.Contains(lines, l => l.Contains("anonymous", StringComparison.Ordinal) && l.Contains("401", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Execute_NonTty_TabSeparatedRawValues()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("GET", "/api/v1/admin/audit?user=bob&since=2030-01-01T10%3A00%3A00Z&limit=5", HttpStatusCode.OK, Entries(cli.Now));

        var exit = await cli.RunAsync("admin", "audit", "--user", "bob", "--since", "24h", "--limit", "5");

        Assert.Equal(0, exit);
        Assert.Equal(
            $"2030-01-02T09:55:00Z\tbob\tDELETE /api/v1/reservations/{{id}}\t{Id}\t200\t192.0.2.7\t",
            cli.Console.StdOut.Split('\n')[0]);
    }

    [Fact]
    public async Task Execute_DateSinceAndJson_SendsUtcTimeAndPrintsDtos()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", "/api/v1/admin/audit?since=2026-11-01T00%3A00%3A00Z", HttpStatusCode.OK, Entries(cli.Now));

        var exit = await cli.RunAsync("admin", "audit", "--since", "2026-11-01", "--json");

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(cli.Console.StdOut);
        Assert.Equal(3, doc.RootElement.GetArrayLength());
        Assert.Equal("192.0.2.7", doc.RootElement[0].GetProperty("remoteAddress").GetString());
        Assert.Equal(401, doc.RootElement[2].GetProperty("outcome").GetInt32());
    }

    [Theory]
    [InlineData("--since", "yesterday", "--since must be")]
    [InlineData("--since", "5w", "--since must be")]
    [InlineData("--limit", "0", "--limit must be from 1 to 1000")]
    public async Task Execute_BadOption_UsageErrorWithoutRequest(string option, string value, string expected)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("admin", "audit", option, value);

        Assert.Equal(1, exit);
        Assert.Contains(expected, cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Execute_NotAdmin_Exit4WithServerMessage()
    {
        using var cli = new CliHarness();
        cli.Http.On("GET", "/api/v1/admin/audit", HttpStatusCode.Forbidden,
            """{"title":"Not allowed.","detail":"Only admins can read the audit log.","code":"forbidden","status":403}""");

        var exit = await cli.RunAsync("admin", "audit");

        Assert.Equal(4, exit);
        Assert.Contains("error: Only admins can read the audit log.", cli.Console.StdErr, StringComparison.Ordinal);
    }
}

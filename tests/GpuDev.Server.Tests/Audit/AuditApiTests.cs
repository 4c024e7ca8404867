using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Core.Audit;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Audit;

public sealed class AuditApiTests
{
    private static async Task<ReservationDto> ReserveAsync(HttpClient client, int gpus = 1)
    {
        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = gpus, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, TestContext.Current.CancellationToken))!;
    }

    private static async Task<List<AuditEntryDto>> AuditAsync(HttpClient admin, string query) =>
        (await admin.GetFromJsonAsync(Routes.Audit + query, GpuDevJsonContext.Default.ListAuditEntryDto, TestContext.Current.CancellationToken))!;

    [Fact]
    public async Task Query_ByReservation_ShowsWhoCancelledItFromWhere()
    {
        await using var server = new ServerFixture();
        var bob = await server.ClientForAsync("bob");
        var admin = await server.ClientForAsync("root", admin: true);
        var reservation = await ReserveAsync(bob);
        await ServerFixture.WaitForStatusAsync(bob, reservation.Id, "active");

        using var cancel = new HttpRequestMessage(HttpMethod.Delete, Routes.Reservation(reservation.Id[..8]));
        cancel.Headers.Add(ServerFixture.RemoteAddressHeader, "192.0.2.7");
        var cancelled = await bob.SendAsync(cancel, TestContext.Current.CancellationToken);
        var entries = await AuditAsync(admin, $"?target={reservation.Id}");

        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        var who = Assert.Single(entries, e => e.Action.StartsWith("DELETE", StringComparison.Ordinal));
        Assert.Equal("bob", who.Actor);
        Assert.Equal("DELETE /api/v1/reservations/{id}", who.Action);
        Assert.Equal(reservation.Id, who.Target);
        Assert.Equal(200, who.Outcome);
        Assert.Equal("192.0.2.7", who.RemoteAddress);
        Assert.Contains(entries, e => e is { Actor: "bob", Action: "POST /api/v1/reservations/", Outcome: 201, RemoteAddress: "127.0.0.1" });
        Assert.Contains(entries, e => e is { Actor: "system:scheduler", Action: "transition pending->preparing", RemoteAddress: null });
        Assert.Contains(entries, e => e is { Actor: "system:job", Action: "transition preparing->active" });
        Assert.Equal(entries.OrderByDescending(e => e.At).ThenByDescending(e => e.Id).Select(e => e.Id), entries.Select(e => e.Id));
    }

    [Fact]
    public async Task Query_RefusedRequests_AreRecordedWithWhoAndWhy()
    {
        await using var server = new ServerFixture();
        var bob = await server.ClientForAsync("bob");
        var mallory = await server.ClientForAsync("mallory");
        var admin = await server.ClientForAsync("root", admin: true);
        var anonymous = server.CreateClient();
        var reservation = await ReserveAsync(bob);

        var notFound = await mallory.DeleteAsync(Routes.Reservation(reservation.Id), TestContext.Current.CancellationToken);
        var unauthorized = await anonymous.DeleteAsync(Routes.Reservation(reservation.Id), TestContext.Current.CancellationToken);
        var forbidden = await mallory.GetAsync(Routes.Audit, TestContext.Current.CancellationToken);
        var byMallory = await AuditAsync(admin, "?user=mallory");
        var byAnonymous = await AuditAsync(admin, "?user=anonymous&action=DELETE");

        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Collection(byMallory,
            e => Assert.Equal(("GET /api/v1/admin/audit", 403, "Only admins can read the audit log."), (e.Action, e.Outcome, e.Detail)),
            e => Assert.Equal(("DELETE /api/v1/reservations/{id}", reservation.Id, 404), (e.Action, e.Target, e.Outcome)));
        var anon = Assert.Single(byAnonymous);
        Assert.Equal((401, "127.0.0.1"), (anon.Outcome, anon.RemoteAddress));
        Assert.Contains("Bearer", anon.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_UnreadableBody_IsRecordedAsRefused()
    {
        await using var server = new ServerFixture();
        var bob = await server.ClientForAsync("bob");
        var admin = await server.ClientForAsync("root", admin: true);

        using var content = new StringContent("""{"gpuType": "h100", "hours": "x"}""", System.Text.Encoding.UTF8, "application/json");
        var response = await bob.PostAsync(Routes.Reservations, content, TestContext.Current.CancellationToken);
        var entries = await AuditAsync(admin, "?user=bob");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var refused = Assert.Single(entries);
        Assert.Equal(("POST /api/v1/reservations/", 400), (refused.Action, refused.Outcome));
        Assert.Contains("JSON", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_ReadsAreNotRecordedButLimitAndSinceFilter()
    {
        await using var server = new ServerFixture();
        var bob = await server.ClientForAsync("bob");
        var admin = await server.ClientForAsync("root", admin: true);
        var first = await ReserveAsync(bob);
        server.Time.Advance(TimeSpan.FromHours(2));
        var second = await ReserveAsync(bob);
        await bob.GetAsync(Routes.Reservations, TestContext.Current.CancellationToken);

        var bobs = await AuditAsync(admin, "?user=bob");
        var latest = await AuditAsync(admin, "?user=bob&limit=1");
        var recent = await AuditAsync(admin, "?user=bob&since=1h");
        var absolute = await AuditAsync(admin, "?user=bob&since=2026-11-28T13:00:00Z");

        Assert.Equal([second.Id, first.Id], bobs.Select(e => e.Target));
        Assert.Equal([second.Id], latest.Select(e => e.Target));
        Assert.Equal([second.Id], recent.Select(e => e.Target));
        Assert.Equal([second.Id], absolute.Select(e => e.Target));
    }

    [Theory]
    [InlineData("?since=yesterday", "since")]
    [InlineData("?since=12x", "since")]
    [InlineData("?limit=0", "limit")]
    [InlineData("?limit=1001", "limit")]
    [InlineData("?limit=ten", "limit")]
    public async Task Query_BadSinceOrLimit_Returns400Problem(string query, string field)
    {
        await using var server = new ServerFixture();
        var admin = await server.ClientForAsync("root", admin: true);

        var response = await admin.GetAsync(Routes.Audit + query, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto, TestContext.Current.CancellationToken))!;
        Assert.Equal(ProblemCodes.BadRequest, problem.Code);
        Assert.True(problem.Errors!.ContainsKey(field));
    }

    [Fact]
    public async Task Lifecycle_EntriesOlderThanRetention_ArePurged()
    {
        await using var server = new ServerFixture(new Dictionary<string, string> { ["Audit:RetentionDays"] = "30" });
        var admin = await server.ClientForAsync("root", admin: true);
        var audit = server.Services.GetRequiredService<IAuditLog>();
        var now = server.Time.GetUtcNow();
        await audit.RecordAsync(new AuditEntry(now.AddDays(-31), "old", "DELETE /x", "t1", 200, null, "10.0.0.1"), CancellationToken.None);
        await audit.RecordAsync(new AuditEntry(now.AddDays(-29), "young", "DELETE /x", "t2", 200, null, "10.0.0.1"), CancellationToken.None);

        // The lifecycle worker purges at most hourly; its first pass may have run before the entries were written.
        server.Time.Advance(TimeSpan.FromMinutes(61));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        List<AuditEntryDto> left;
        do
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
            left = await AuditAsync(admin, "?action=DELETE%20/x");
        }
        while (left.Count > 1 && DateTime.UtcNow < deadline);

        Assert.Equal(["young"], left.Select(e => e.Actor));
    }
}

using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Core.Compute;

namespace GpuDev.Server.Tests.Api;

/// <summary><c>GET /api/v1/usage</c>: booked and used GPU-hours per user and GPU type from reservations with known start,
/// end and extension, clipped at <c>since</c>; who may see whose usage; the rules of <c>since</c>.</summary>
public sealed class UsageApiTests
{
    private static readonly DateTimeOffset s_start = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>At 15:00, from a start at 12:00 (expiry grace 0, so an expired reservation ends at its expiry):
    /// alice: A 2×h100 for 4 h, active 12:00, cancelled 13:00; B 1×h100 for 2 h, active 13:00, extended by 1 h, still live;
    /// C 4×a100 for 1 h, active 13:00, expired 14:00; D 8×h100 queued since 13:00 (B holds one of the 8).
    /// bob: E 2×a100 for 1 h, active 12:00, expired 13:00.</summary>
    private static ServerFixture NewServer() => new(new Dictionary<string, string> { ["Server:ExpiryGrace"] = "00:00:00" },
        new ComputeNode("node-0", "h100", 8, true), new ComputeNode("node-1", "a100", 8, true));

    private static async Task<(HttpClient Alice, HttpClient Admin)> HistoryAsync(ServerFixture server)
    {
        Assert.Equal(s_start, server.Time.GetUtcNow());
        var alice = await server.ClientForAsync("alice");
        var bob = await server.ClientForAsync("bob");
        var admin = await server.ClientForAsync("admin", admin: true);

        var a = await ReserveActiveAsync(alice, "h100", 2, hours: 4);
        await ReserveActiveAsync(bob, "a100", 2, hours: 1);

        server.Time.Advance(TimeSpan.FromHours(1));
        await server.SettleAsync();
        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync(Routes.Reservation(a.Id), Ct)).StatusCode);
        var b = await ReserveActiveAsync(alice, "h100", 1, hours: 2);
        (await alice.PatchAsync(Routes.Reservation(b.Id), JsonContent.Create(new EditReservationRequest { ExtendHours = 1 }, GpuDevJsonContext.Default.EditReservationRequest), Ct))
            .EnsureSuccessStatusCode();
        await ReserveActiveAsync(alice, "a100", 4, hours: 1);
        var d = await ReserveAsync(alice, "h100", 8, hours: 1);

        server.Time.Advance(TimeSpan.FromHours(1));
        await server.SettleAsync();
        server.Time.Advance(TimeSpan.FromHours(1));
        await server.SettleAsync();

        var all = (await admin.GetFromJsonAsync($"{Routes.Reservations}?user=all&all=true", GpuDevJsonContext.Default.ListReservationDto, Ct))!;
        Assert.Equal(["active", "cancelled", "expired", "expired", "queued"], all.Select(r => r.Status).Order(StringComparer.Ordinal));
        Assert.Equal("queued", all.Single(r => r.Id == d.Id).Status);
        return (alice, admin);
    }

    [Fact]
    public async Task Usage_DefaultWindow_BookedAndUsedPerType_LiveToNow_QueuedZero()
    {
        await using var server = NewServer();
        var (alice, _) = await HistoryAsync(server);

        var report = await UsageAsync(alice, "");

        Assert.Equal(s_start.AddHours(3), report.At);
        Assert.Equal(report.At - TimeSpan.FromDays(7), report.Since);
        Assert.Equal("alice", report.User);
        Assert.Equal(
        [
            new UsageRowDto("alice", "a100", 1, BookedGpuHours: 4, UsedGpuHours: 4),

            // A: 2 × 4 booked, 2 × 1 used; B: 1 × (2 + 1) booked, 1 × 2 used (13:00 to now); D: queued, nothing.
            new UsageRowDto("alice", "h100", 3, BookedGpuHours: 11, UsedGpuHours: 4),
        ], report.Rows);
        Assert.Equal(new UsageTotalDto(4, 15, 8), report.Total);

        server.Time.Advance(TimeSpan.FromMinutes(30));
        var later = await UsageAsync(alice, "");
        Assert.Equal(4.5, later.Rows.Single(r => r.GpuType == "h100").UsedGpuHours);
        Assert.Equal(11, later.Rows.Single(r => r.GpuType == "h100").BookedGpuHours);
    }

    [Fact]
    public async Task Usage_SinceInsideHistory_ClipsBookedAndUsedAtSince()
    {
        await using var server = NewServer();
        var (alice, _) = await HistoryAsync(server);

        var fromHalfPastTwelve = await UsageAsync(alice, "?since=2026-11-28T12:30:00Z");
        var lastNinetyMinutes = await UsageAsync(alice, "?since=90m");

        Assert.Equal(s_start.AddMinutes(30), fromHalfPastTwelve.Since);
        Assert.Equal(
        [
            new UsageRowDto("alice", "a100", 1, 4, 4),

            // A counts from 12:30: 2 × 3.5 booked (to its booked end at 16:00), 2 × 0.5 used (to its cancel at 13:00).
            new UsageRowDto("alice", "h100", 3, BookedGpuHours: 7 + 3, UsedGpuHours: 1 + 2),
        ], fromHalfPastTwelve.Rows);

        // From 13:30 A (ended 13:00) is out; B counts 2.5 booked and 1.5 used, C half of its hour, D still nothing.
        Assert.Equal(s_start.AddMinutes(90), lastNinetyMinutes.Since);
        Assert.Equal([new UsageRowDto("alice", "a100", 1, 2, 2), new UsageRowDto("alice", "h100", 2, 2.5, 1.5)], lastNinetyMinutes.Rows);
        Assert.Equal(new UsageTotalDto(3, 4.5, 3.5), lastNinetyMinutes.Total);
    }

    [Fact]
    public async Task Usage_Admin_EverybodyByDefaultOrOneUser()
    {
        await using var server = NewServer();
        var (_, admin) = await HistoryAsync(server);

        var everybody = await UsageAsync(admin, "");
        var alsoEverybody = await UsageAsync(admin, "?user=all");
        var bob = await UsageAsync(admin, "?user=bob");

        Assert.Null(everybody.User);
        Assert.Equal(["alice a100", "alice h100", "bob a100"], everybody.Rows.Select(r => $"{r.User} {r.GpuType}"));
        Assert.Equal(new UsageTotalDto(5, 17, 10), everybody.Total);
        Assert.Equal(everybody.Rows, alsoEverybody.Rows);
        Assert.Equal("bob", bob.User);
        Assert.Equal([new UsageRowDto("bob", "a100", 1, 2, 2)], bob.Rows);
        await AssertProblemAsync(await admin.GetAsync($"{Routes.Usage}?user=nobody", Ct), HttpStatusCode.NotFound, ProblemCodes.NotFound, "There is no user named 'nobody'.");
    }

    [Fact]
    public async Task Usage_NonAdmin_OnlyTheirOwn()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        await server.ClientForAsync("bob");

        var own = await UsageAsync(alice, "?user=alice");

        Assert.Equal("alice", own.User);
        Assert.Empty(own.Rows);
        Assert.Equal(new UsageTotalDto(0, 0, 0), own.Total);
        foreach (var other in new[] { "bob", "all", "nobody" })
        {
            await AssertProblemAsync(await alice.GetAsync($"{Routes.Usage}?user={other}", Ct), HttpStatusCode.Forbidden, ProblemCodes.Forbidden,
                "Only admins can see another user's usage, or everybody's; you can see your own (leave out user, or user=alice).");
        }
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("7w")]
    [InlineData("-7d")]
    [InlineData("")]
    [InlineData("2026-13-01")]
    public async Task Usage_BadSince_400WithTheValidValues(string since)
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");

        var response = await alice.GetAsync($"{Routes.Usage}?since={Uri.EscapeDataString(since)}", Ct);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, ProblemCodes.BadRequest,
            $"since '{since}' is not valid; give an RFC 3339 time (2026-11-01T08:00:00Z), a UTC date (2026-11-01) or an age: a whole number with s, m, h or d (90s, 30m, 24h, 7d).");
    }

    [Fact]
    public async Task Usage_SinceInTheFuture_400()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");

        var response = await alice.GetAsync($"{Routes.Usage}?since=2026-11-29", Ct);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest, ProblemCodes.BadRequest,
            "since 2026-11-29T00:00:00Z is in the future (the server's time is 2026-11-28T12:00:00Z); the window ends now.");
    }

    private static async Task<UsageReportDto> UsageAsync(HttpClient client, string query)
    {
        var response = await client.GetAsync(Routes.Usage + query, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.UsageReportDto, Ct))!;
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string code, string detail)
    {
        Assert.Equal(status, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto, Ct))!;
        Assert.Equal(code, problem.Code);
        Assert.Equal(detail, problem.Detail);
    }

    private static async Task<ReservationDto> ReserveActiveAsync(HttpClient client, string type, int gpus, double hours) =>
        await ServerFixture.WaitForStatusAsync(client, (await ReserveAsync(client, type, gpus, hours)).Id, "active");

    private static async Task<ReservationDto> ReserveAsync(HttpClient client, string type, int gpus, double hours)
    {
        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = type, GpuCount = gpus, Hours = hours },
            GpuDevJsonContext.Default.CreateReservationRequest, Ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, Ct))!;
    }
}

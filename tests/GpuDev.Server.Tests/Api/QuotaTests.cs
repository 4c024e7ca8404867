using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;

namespace GpuDev.Server.Tests.Api;

/// <summary>Per-user quotas: a request over a limit is refused (429, code quota-exceeded) with the limit, the usage and
/// when it frees, and nothing is created; a retry of a stored request is still answered with it.</summary>
public sealed class QuotaTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task MaxQueuedPerUser_FourthWaitingRequestRefused_RetryOfAStoredOneAnswered()
    {
        await using var server = new ServerFixture(new Dictionary<string, string> { ["Quotas:MaxQueuedPerUser"] = "3" });
        var alice = await server.ClientForAsync("alice");
        Assert.Equal(HttpStatusCode.Created, (await ReserveAsync(alice, 8, hours: 4)).StatusCode);
        await ServerFixture.WaitForStatusAsync(alice, (await ListAsync(alice)).Single().Id, "active");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await ReserveAsync(alice, 8, key: $"k{i}")).StatusCode);
        }

        var refused = await ReserveAsync(alice, 8);

        await AssertOverAsync(refused, "You have 3 requests waiting, the most one user may (Quotas:MaxQueuedPerUser = 3)");
        Assert.Equal(4, (await ListAsync(alice)).Count);
        Assert.Equal(HttpStatusCode.OK, (await ReserveAsync(alice, 8, key: "k2")).StatusCode);
        var bob = await server.ClientForAsync("bob");
        Assert.Equal(HttpStatusCode.Created, (await ReserveAsync(bob, 8)).StatusCode);
    }

    [Fact]
    public async Task MaxGpusPerUser_OverTheLimit_RefusedWithWhenEnoughFrees()
    {
        await using var server = new ServerFixture(new Dictionary<string, string> { ["Quotas:MaxGpusPerUser"] = "4" });
        var alice = await server.ClientForAsync("alice");
        var first = (await (await ReserveAsync(alice, 2)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, Ct))!;
        var active = await ServerFixture.WaitForStatusAsync(alice, first.Id, "active");
        server.Time.Advance(TimeSpan.FromMinutes(1)); // the second ends after the first
        Assert.Equal(HttpStatusCode.Created, (await ReserveAsync(alice, 2)).StatusCode);
        await ServerFixture.WaitForStatusAsync(alice, (await ListAsync(alice)).Single(r => r.Id != first.Id).Id, "active");

        await AssertOverAsync(await ReserveAsync(alice, 2),
            $"You hold 4 GPUs; with this request's 2 that is over the 4 one user may hold at once (Quotas:MaxGpusPerUser); enough frees when {first.Id[..8]} ends at {active.ExpiresAt!.Value.UtcDateTime:yyyy-MM-dd HH:mm} UTC.");
        await AssertOverAsync(await ReserveAsync(alice, 8), "This request asks for 8 GPUs; one user may hold at most 4 at once (Quotas:MaxGpusPerUser).");
        Assert.Equal(2, (await ListAsync(alice)).Count);
    }

    [Fact]
    public async Task MaxGpuHoursPerWeek_CountsBookedAndUsed_FreesAsTheWindowMoves()
    {
        await using var server = new ServerFixture(new Dictionary<string, string> { ["Quotas:MaxGpuHoursPerWeek"] = "20" });
        var alice = await server.ClientForAsync("alice");
        var first = (await (await ReserveAsync(alice, 8, hours: 2)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, Ct))!;
        await ServerFixture.WaitForStatusAsync(alice, first.Id, "active");
        var booked = server.Time.GetUtcNow();

        await AssertOverAsync(await ReserveAsync(alice, 4, hours: 2),
            $"This request books 8 GPU-hours; you have booked or used 16 of the 20 one user may in 7 days (Quotas:MaxGpuHoursPerWeek); enough leaves the 7-day window at {booked.AddDays(7).UtcDateTime:yyyy-MM-dd HH:mm} UTC.");

        // Ended after 30 minutes: 4 GPU-hours used, not 16 booked.
        server.Time.Advance(TimeSpan.FromMinutes(30));
        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync(Routes.Reservation(first.Id), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await ReserveAsync(alice, 4, hours: 2)).StatusCode);
    }

    private static async Task AssertOverAsync(HttpResponseMessage response, string detail)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto, Ct))!;
        Assert.Equal(ProblemCodes.QuotaExceeded, problem.Code);
        Assert.StartsWith(detail, problem.Detail, StringComparison.Ordinal);
    }

    private static Task<HttpResponseMessage> ReserveAsync(HttpClient client, int gpus, double hours = 1, string? key = null)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, Routes.Reservations)
        {
            Content = JsonContent.Create(new CreateReservationRequest { GpuType = "h100", GpuCount = gpus, Hours = hours }, GpuDevJsonContext.Default.CreateReservationRequest),
        };
        if (key is not null)
        {
            message.Headers.Add(Routes.IdempotencyKeyHeader, key);
        }

        return client.SendAsync(message, Ct);
    }

    private static async Task<List<ReservationDto>> ListAsync(HttpClient client) =>
        (await client.GetFromJsonAsync(Routes.Reservations, GpuDevJsonContext.Default.ListReservationDto, Ct))!;
}

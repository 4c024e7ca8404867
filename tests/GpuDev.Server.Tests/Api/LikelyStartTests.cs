using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Server.Processing;

namespace GpuDev.Server.Tests.Api;

/// <summary>The likely start beside the guaranteed one (and likely free times in avail): learned from how the holder's
/// past reservations ended.</summary>
public sealed class LikelyStartTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Queued_HolderUsuallyEndsEarly_LikelyStartFromHerHistory_GuaranteedUnchanged()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var bob = await server.ClientForAsync("bob");

        // Alice's habit: she books 4 hours and is done after 1.
        for (var i = 0; i < 6; i++)
        {
            var past = await ReserveAsync(alice, 8, hours: 4);
            await ServerFixture.WaitForStatusAsync(alice, past.Id, "active");
            server.Time.Advance(TimeSpan.FromHours(1));
            Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync(Routes.Reservation(past.Id), Ct)).StatusCode);
            await ServerFixture.WaitForStatusAsync(alice, past.Id, "cancelled");
            await WaitUntilAsync(async () => (await server.Store.GetAllocationsAsync(Ct)).Count == 0);
        }

        server.Time.Advance(EndHistory.Refresh);
        var holding = await ServerFixture.WaitForStatusAsync(alice, (await ReserveAsync(alice, 8, hours: 4)).Id, "active");
        var waiting = await ReserveAsync(bob, 8, hours: 2);
        var queued = await WaitUntilAsync(async () => await GetAsync(bob, waiting.Id) is { Status: "queued", LikelyStartAt: not null } r ? r : null);

        Assert.Equal(holding.ExpiresAt, queued.EstimatedStartAt);
        var expected = holding.StartedAt!.Value.AddHours(1);
        Assert.InRange(queued.LikelyStartAt!.Value, expected.AddMinutes(-3), expected.AddMinutes(3));
        Assert.Equal(0, queued.LikelyStartAt.Value.Minute % 5);

        // avail: the node is free by the booking at expiry, likely an hour after she started.
        var h100 = (await bob.GetFromJsonAsync(Routes.Availability, GpuDevJsonContext.Default.AvailabilityResponse, Ct))!.Types.Single(t => t.GpuType == "h100");
        Assert.Equal(holding.ExpiresAt, h100.FullNodeFreeAt);
        Assert.InRange(h100.LikelyFullNodeFreeAt!.Value, expected.AddSeconds(-1), expected.AddSeconds(1));
        Assert.Equal(h100.LikelyFullNodeFreeAt, h100.LikelyNextFreeAt);

        // The list shows both as well, and the dashboard's timeline (the ◆ mark, the holder's likely end); once it starts,
        // neither is left.
        var listed = (await bob.GetFromJsonAsync(Routes.Reservations, GpuDevJsonContext.Default.ListReservationDto, Ct))!.Single();
        Assert.Equal(queued.LikelyStartAt, listed.LikelyStartAt);
        var timeline = (await bob.GetFromJsonAsync(Routes.Timeline, GpuDevJsonContext.Default.TimelineResponse, Ct))!.Nodes.SelectMany(n => n.Items).ToList();
        Assert.Equal(queued.LikelyStartAt, timeline.Single(i => i.ReservationId == waiting.Id).LikelyStart);
        Assert.InRange(timeline.Single(i => i.ReservationId == holding.Id).LikelyEnd!.Value, expected.AddSeconds(-1), expected.AddSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync(Routes.Reservation(holding.Id), Ct)).StatusCode);
        var started = await ServerFixture.WaitForStatusAsync(bob, waiting.Id, "active");
        Assert.Null(started.LikelyStartAt);
        Assert.Null(started.EstimatedStartAt);
    }

    [Fact]
    public async Task Queued_NoHistory_LikelyIsTheGuaranteedStart()
    {
        await using var server = new ServerFixture();
        server.Time.Advance(TimeSpan.FromSeconds(27)); // off the 5-minute grid the likely start is rounded to
        var alice = await server.ClientForAsync("alice");
        var holding = await ServerFixture.WaitForStatusAsync(alice, (await ReserveAsync(alice, 8, hours: 3)).Id, "active");

        var waiting = await ReserveAsync(alice, 8, hours: 1);
        var queued = await WaitUntilAsync(async () => await GetAsync(alice, waiting.Id) is { Status: "queued", LikelyStartAt: not null } r ? r : null);

        Assert.Equal(holding.ExpiresAt, queued.EstimatedStartAt);
        // The same time, not the guaranteed start rounded to 5 minutes (clients would show "by 16:30 (likely ~16:30)").
        Assert.Equal(queued.EstimatedStartAt, queued.LikelyStartAt);

        // The guaranteed start's slot is kept for the next pass (which holds it, so the start never moves later).
        var stored = await server.Store.GetReservationAsync(waiting.Id, Ct);
        Assert.Equal(holding.Nodes.Single().Node, Assert.Single(stored!.PlannedNodes));
    }

    [Fact]
    public async Task Restart_QueuedRequestKeepsItsPromisedSlot_StartsThereWhenItFrees()
    {
        var first = new ServerFixture();
        var alice = await first.ClientForAsync("alice");
        var holding = await ServerFixture.WaitForStatusAsync(alice, (await ReserveAsync(alice, 8, hours: 3)).Id, "active");
        var waiting = await ReserveAsync(alice, 8, hours: 1);
        var queued = await WaitUntilAsync(async () => await GetAsync(alice, waiting.Id) is { Status: "queued", EstimatedStartAt: not null } r ? r : null);
        var slot = (await first.Store.GetReservationAsync(waiting.Id, Ct))!.PlannedNodes;

        await using var second = await first.RestartAsync();
        var token = alice.DefaultRequestHeaders.Authorization;
        alice = second.CreateDefaultClient();
        alice.DefaultRequestHeaders.Authorization = token;
        second.Time.Advance(TimeSpan.FromMinutes(1));
        await second.SettleAsync();

        var after = await GetAsync(alice, waiting.Id);
        Assert.Equal("queued", after.Status);
        Assert.Equal(queued.EstimatedStartAt, after.EstimatedStartAt);
        Assert.Equal(slot, (await second.Store.GetReservationAsync(waiting.Id, Ct))!.PlannedNodes);
        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync(Routes.Reservation(holding.Id), Ct)).StatusCode);
        var started = await ServerFixture.WaitForStatusAsync(alice, waiting.Id, "active");
        Assert.Equal(slot.Single(), started.Nodes.Single().Node);
    }

    private static async Task<ReservationDto> ReserveAsync(HttpClient client, int gpus, double hours)
    {
        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = gpus, Hours = hours },
            GpuDevJsonContext.Default.CreateReservationRequest, Ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, Ct))!;
    }

    private static async Task<ReservationDto> GetAsync(HttpClient client, string id) =>
        (await client.GetFromJsonAsync(Routes.Reservation(id), GpuDevJsonContext.Default.ReservationDto, Ct))!;

    private static async Task<T> WaitUntilAsync<T>(Func<Task<T?>> probe)
        where T : class
    {
        for (var i = 0; i < 400; i++)
        {
            if (await probe() is { } value)
            {
                return value;
            }

            await Task.Delay(25, Ct);
        }

        throw new TimeoutException("the condition was not met in 10 s");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> probe) =>
        await WaitUntilAsync(async () => await probe() ? "done" : null);
}

using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Core.Compute;

namespace GpuDev.Server.Tests.Api;

/// <summary><c>GET /api/v1/timeline</c>: every GPU's future, consistent with <c>show</c> and <c>avail</c>; others'
/// reservations without their details.</summary>
public sealed class TimelineApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Timeline_RunningAndQueued_MatchShowAndAvail_OthersWithoutDetails()
    {
        await using var server = new ServerFixture(new ComputeNode("n0", "h100", 8, true), new ComputeNode("n1", "h100", 8, true), new ComputeNode("t0", "t4", 4, true));
        var alice = await server.ClientForAsync("alice");
        var bob = await server.ClientForAsync("bob");
        var a1 = await ServerFixture.WaitForStatusAsync(alice, (await ReserveAsync(alice, "h100", 8, 2, "train")).Id, "active");
        var b1 = await ServerFixture.WaitForStatusAsync(bob, (await ReserveAsync(bob, "h100", 4, 3, "secret")).Id, "active");
        var b2 = await ServerFixture.WaitForStatusAsync(bob, (await ReserveAsync(bob, "t4", 2, 1, "small")).Id, "active");
        var a2 = await ServerFixture.WaitForStatusAsync(alice, (await ReserveAsync(alice, "h100", 8, 1, "next")).Id, "queued");

        var timeline = (await alice.GetFromJsonAsync(Routes.Timeline, GpuDevJsonContext.Default.TimelineResponse, Ct))!;
        var availability = (await alice.GetFromJsonAsync(Routes.Availability, GpuDevJsonContext.Default.AvailabilityResponse, Ct))!;

        Assert.Equal(["n0", "n1", "t0"], timeline.Nodes.Select(n => n.Name));
        foreach (var running in new[] { a1, b1, b2 })
        {
            var item = Assert.Single(timeline.Nodes.SelectMany(n => n.Items), i => i.ReservationId == running.Id);
            Assert.Equal(running.Nodes.Single().Node, timeline.Nodes.Single(n => n.Items.Contains(item)).Name);
            Assert.Equal((running.Status, running.GpuCount, running.StartedAt, running.ExpiresAt), (item.Status, item.Gpus, (DateTimeOffset?)item.Start, (DateTimeOffset?)item.End));
        }

        var queued = Assert.Single(timeline.Nodes.SelectMany(n => n.Items), i => i.ReservationId == a2.Id);
        Assert.Equal(("queued", 8, a2.EstimatedStartAt, a2.EstimatedStartAt!.Value.AddHours(1)), (queued.Status, queued.Gpus, (DateTimeOffset?)queued.Start, queued.End));
        Assert.Equal(a2.WaitReason, queued.Reason);
        Assert.True(queued.Mine);

        // Nobody's GPUs overlap: at every item's start, what holds the node fits in it.
        foreach (var node in timeline.Nodes)
        {
            foreach (var at in node.Items.Select(i => i.Start))
            {
                Assert.True(node.Items.Where(i => i.Start <= at && at < i.End).Sum(i => i.Gpus) <= node.Gpus, $"{node.Name} overbooked at {at}");
            }
        }

        // avail agrees: the next h100 frees when the first running h100 reservation ends.
        var h100 = availability.Types.Single(t => t.GpuType == "h100");
        Assert.Equal(h100.NextFreeAt, timeline.Nodes.Where(n => n.GpuType == "h100").SelectMany(n => n.Items).Where(i => i.Status == "active").Min(i => i.End));
        Assert.Equal(timeline.Nodes.SelectMany(n => n.Items).Max(i => i.End), timeline.Until);

        // Bob's reservations are there, with owner and times, but not their names.
        var bobs = timeline.Nodes.SelectMany(n => n.Items).Where(i => i.User == "bob").ToList();
        Assert.Equal(2, bobs.Count);
        Assert.All(bobs, i => Assert.Equal((false, (string?)null, (string?)null), (i.Mine, i.Name, i.Reason)));
        var bobsView = (await bob.GetFromJsonAsync(Routes.Timeline, GpuDevJsonContext.Default.TimelineResponse, Ct))!;
        Assert.Equal("secret", bobsView.Nodes.SelectMany(n => n.Items).Single(i => i.ReservationId == b1.Id).Name);
        Assert.Null(bobsView.Nodes.SelectMany(n => n.Items).Single(i => i.ReservationId == a2.Id).Reason);
    }

    [Fact]
    public async Task Timeline_CancelledWhileItsGpusAreReleased_EndingWithItsOwnerUntilFreed()
    {
        await using var server = new ServerFixture(new ComputeNode("n0", "h100", 8, true));
        var alice = await server.ClientForAsync("alice");
        var bob = await server.ClientForAsync("bob");
        var mine = await ServerFixture.WaitForStatusAsync(alice, (await ReserveAsync(alice, "h100", 4, 2, "to-cancel")).Id, "active");
        server.Provider.RemoveFails = new IOException("podman rm: device busy"); // the teardown keeps failing: GPUs held

        (await alice.DeleteAsync(Routes.Reservation(mine.Id), Ct)).EnsureSuccessStatusCode();
        await server.SettleAsync();
        var item = Single(await alice.GetFromJsonAsync(Routes.Timeline, GpuDevJsonContext.Default.TimelineResponse, Ct), mine.Id);
        var bobsItem = Single(await bob.GetFromJsonAsync(Routes.Timeline, GpuDevJsonContext.Default.TimelineResponse, Ct), mine.Id);
        server.Provider.RemoveFails = null;
        await ServerFixture.WaitForStatusAsync(alice, mine.Id, "cancelled");
        var freed = await WaitAsync(async () => !(await alice.GetFromJsonAsync(Routes.Timeline, GpuDevJsonContext.Default.TimelineResponse, Ct))!
            .Nodes.SelectMany(n => n.Items).Any(i => i.ReservationId == mine.Id), server);

        Assert.Equal(("ending", true, "to-cancel", "alice", 4), (item.Status, item.Mine, item.Name, item.User, item.Gpus));
        Assert.Equal(("ending", false, (string?)null, "alice"), (bobsItem.Status, bobsItem.Mine, bobsItem.Name, bobsItem.User));
        Assert.True(freed, "the item stayed on the timeline after its GPUs were released");
    }

    private static TimelineItemDto Single(TimelineResponse? timeline, string id) =>
        Assert.Single(timeline!.Nodes.SelectMany(n => n.Items), i => i.ReservationId == id);

    /// <summary>Whether <paramref name="condition"/> holds within a few worker passes (the fake clock moved 30 s each).</summary>
    private static async Task<bool> WaitAsync(Func<Task<bool>> condition, ServerFixture server)
    {
        for (var pass = 0; pass < 40; pass++)
        {
            if (await condition())
            {
                return true;
            }

            server.Time.Advance(TimeSpan.FromSeconds(30));
            await server.SettleAsync();
        }

        return await condition();
    }

    private static async Task<ReservationDto> ReserveAsync(HttpClient client, string type, int gpus, double hours, string name)
    {
        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = type, GpuCount = gpus, Hours = hours, Name = name },
            GpuDevJsonContext.Default.CreateReservationRequest, Ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, Ct))!;
    }
}

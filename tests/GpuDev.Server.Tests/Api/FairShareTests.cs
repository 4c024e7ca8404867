using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;

namespace GpuDev.Server.Tests.Api;

/// <summary><c>Quotas:FairShare</c>: who used less recently gets the GPUs that free early first, and nobody's promised
/// start moves later for it.</summary>
public sealed class FairShareTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task HolderEndsEarly_FairShareGivesTheFreedNodeToTheLighterUser_PromiseOfTheOtherKept(bool fairShare)
    {
        await using var server = new ServerFixture(new Dictionary<string, string> { ["Quotas:FairShare"] = fairShare ? "true" : "false" });
        var alice = await server.ClientForAsync("alice");
        var bob = await server.ClientForAsync("bob");
        var carol = await server.ClientForAsync("carol");

        // Bob used the node for an hour this week; Alice did not.
        var past = await ServerFixture.WaitForStatusAsync(bob, (await ReserveAsync(bob, hours: 2)).Id, "active");
        server.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(HttpStatusCode.OK, (await bob.DeleteAsync(Routes.Reservation(past.Id), Ct)).StatusCode);
        await ServerFixture.WaitForStatusAsync(bob, past.Id, "cancelled");
        await WaitForNoAllocationsAsync(server);

        var holder = await ServerFixture.WaitForStatusAsync(carol, (await ReserveAsync(carol, hours: 4)).Id, "active");
        var bobs = await ReserveAsync(bob, hours: 2);
        var bobQueued = await ServerFixture.WaitForStatusAsync(bob, bobs.Id, "queued");
        var alices = await ReserveAsync(alice, hours: 2);
        var aliceQueued = await ServerFixture.WaitForStatusAsync(alice, alices.Id, "queued");
        Assert.Equal(holder.ExpiresAt, bobQueued.EstimatedStartAt);

        // Carol is done after an hour: three hours free before Bob's promised start.
        server.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(HttpStatusCode.OK, (await carol.DeleteAsync(Routes.Reservation(holder.Id), Ct)).StatusCode);

        var (first, second, secondClient) = fairShare ? (alices, bobs, bob) : (bobs, alices, alice);
        await ServerFixture.WaitForStatusAsync(fairShare ? alice : bob, first.Id, "active");
        var waiting = await ServerFixture.WaitForStatusAsync(secondClient, second.Id, "queued");
        var now = server.Time.GetUtcNow();
        Assert.Equal(now.AddHours(2), waiting.EstimatedStartAt);
        Assert.True(waiting.EstimatedStartAt <= (fairShare ? bobQueued : aliceQueued).EstimatedStartAt);
    }

    private static async Task<ReservationDto> ReserveAsync(HttpClient client, double hours)
    {
        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 8, Hours = hours },
            GpuDevJsonContext.Default.CreateReservationRequest, Ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, Ct))!;
    }

    private static async Task WaitForNoAllocationsAsync(ServerFixture server)
    {
        for (var i = 0; i < 400 && (await server.Store.GetAllocationsAsync(Ct)).Count > 0; i++)
        {
            await Task.Delay(25, Ct);
        }
    }
}

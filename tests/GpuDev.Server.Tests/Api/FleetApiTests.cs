using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Core.Compute;

namespace GpuDev.Server.Tests.Api;

public sealed class FleetApiTests
{
    private static async Task<ReservationDto> ReserveAsync(HttpClient client, int gpus, double hours = 1, string type = "h100", bool distributed = false)
    {
        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = type, GpuCount = gpus, Hours = hours, Distributed = distributed }, GpuDevJsonContext.Default.CreateReservationRequest);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
    }

    [Fact]
    public async Task Availability_PartlyUsedFleet_ReportsFreeBlocksQueueAndWhenGpusFree()
    {
        await using var server = new ServerFixture(new ComputeNode("n0", "h100", 8, true), new ComputeNode("n1", "h100", 8, true), new ComputeNode("t0", "t4", 4, true));
        var client = await server.ClientForAsync("alice");
        var a = await ServerFixture.WaitForStatusAsync(client, (await ReserveAsync(client, 8, hours: 2)).Id, "active");
        var b = await ServerFixture.WaitForStatusAsync(client, (await ReserveAsync(client, 2, hours: 1)).Id, "active");
        var queued = await ServerFixture.WaitForStatusAsync(client, (await ReserveAsync(client, 8, hours: 1)).Id, "queued");

        var availability = await client.GetFromJsonAsync(Routes.Availability, GpuDevJsonContext.Default.AvailabilityResponse);
        var status = await client.GetFromJsonAsync(Routes.Status, GpuDevJsonContext.Default.ClusterStatusDto);

        var h100 = availability!.Types.Single(t => t.GpuType == "h100");
        Assert.Equal(16, h100.Total);
        Assert.Equal(6, h100.Free);
        Assert.Equal(6, h100.LargestFreeBlock);
        Assert.Equal(1, h100.Queued);
        Assert.Equal(8, h100.QueuedGpus);
        Assert.Equal(b.ExpiresAt!.Value, h100.NextFreeAt);
        Assert.Equal(b.ExpiresAt!.Value, h100.FullNodeFreeAt);
        Assert.Equal(b.ExpiresAt!.Value, queued.EstimatedStartAt);
        Assert.True(availability.Types.Single(t => t.GpuType == "t4").FullNodeFreeAt <= server.Time.GetUtcNow());
        Assert.Equal(20, status!.TotalGpus);
        Assert.Equal(10, status.ReservedGpus);
        Assert.Equal(2, status.ActiveReservations);
        Assert.Equal(1, status.QueuedReservations);
        Assert.NotNull(a.ExpiresAt);
    }

    [Fact]
    public async Task Queue_CancelAhead_RecomputesEtaAndPositions()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var running = await ServerFixture.WaitForStatusAsync(client, (await ReserveAsync(client, 8, hours: 4)).Id, "active");
        var first = await ServerFixture.WaitForStatusAsync(client, (await ReserveAsync(client, 8, hours: 2)).Id, "queued");
        var second = await ServerFixture.WaitForStatusAsync(client, (await ReserveAsync(client, 8, hours: 1)).Id, "queued");
        Assert.Equal(2, second.QueuePosition);
        Assert.Equal(first.EstimatedStartAt!.Value.AddHours(2), second.EstimatedStartAt);

        await client.DeleteAsync(Routes.Reservation(first.Id));
        await WaitAsync(async () => (await Get(client, second.Id)).QueuePosition == 1);

        var after = await Get(client, second.Id);
        Assert.Equal(running.ExpiresAt!.Value, after.EstimatedStartAt);
    }

    [Fact]
    public async Task Queue_LongerThanLimit_IsCancelledWithReason()
    {
        await using var server = new ServerFixture(new Dictionary<string, string> { ["Server:QueueTimeout"] = "02:00:00" });
        var client = await server.ClientForAsync("alice");
        await ServerFixture.WaitForStatusAsync(client, (await ReserveAsync(client, 8, hours: 4)).Id, "active");
        var queued = await ServerFixture.WaitForStatusAsync(client, (await ReserveAsync(client, 8)).Id, "queued");

        server.Time.Advance(TimeSpan.FromHours(1.5));
        await server.SettleAsync();
        Assert.Equal("queued", (await Get(client, queued.Id)).Status);
        server.Time.Advance(TimeSpan.FromHours(0.6));
        var cancelled = await ServerFixture.WaitForStatusAsync(client, queued.Id, "cancelled");

        Assert.Equal("waited in the queue longer than 2 hours", cancelled.StatusReason);
        Assert.Equal("waited in the queue longer than 2 hours", cancelled.History[^1].Reason);
    }

    [Fact]
    public async Task Preparing_LongerThanLimit_FailsWithReason()
    {
        await using var server = new ServerFixture();
        server.Provider.NextStatus = new EnvironmentStatus(EnvironmentState.Starting, null);
        var client = await server.ClientForAsync("alice");
        var preparing = await ServerFixture.WaitForStatusAsync(client, (await ReserveAsync(client, 1)).Id, "preparing");

        server.Time.Advance(TimeSpan.FromMinutes(16));
        var failed = await ServerFixture.WaitForStatusAsync(client, preparing.Id, "failed");

        Assert.Equal("still preparing after 15 minutes", failed.StatusReason);
    }

    [Fact]
    public async Task Multinode_TwoWholeNodes_PlacedAllOrNothing()
    {
        await using var server = new ServerFixture(new ComputeNode("n0", "h100", 8, true), new ComputeNode("n1", "h100", 8, true));
        var client = await server.ClientForAsync("alice");
        var small = await ServerFixture.WaitForStatusAsync(client, (await ReserveAsync(client, 1)).Id, "active");

        var multinode = await ServerFixture.WaitForStatusAsync(client, (await ReserveAsync(client, 16, distributed: true)).Id, "queued");
        await client.DeleteAsync(Routes.Reservation(small.Id));
        var active = await ServerFixture.WaitForStatusAsync(client, multinode.Id, "active");

        Assert.StartsWith("needs 2 whole free h100 nodes; 1 free now", multinode.WaitReason, StringComparison.Ordinal);
        Assert.Equal(2, active.NodeCount);
        Assert.Equal(["n0", "n1"], active.Nodes.Select(n => n.Node));
        Assert.All(active.Nodes, n => Assert.Equal(8, n.GpuIndices.Count));
    }

    [Fact]
    public async Task Create_MoreNodesThanFleet_RefusedAtOnce()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 16, Hours = 1, Distributed = true }, GpuDevJsonContext.Default.CreateReservationRequest);

        Assert.Equal(System.Net.HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("16 h100 GPUs need 2 nodes of 8 GPUs; this site has 1.", (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!.Detail);
    }

    private static async Task<ReservationDto> Get(HttpClient client, string id) =>
        (await client.GetFromJsonAsync(Routes.Reservation(id), GpuDevJsonContext.Default.ReservationDto))!;

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }
}

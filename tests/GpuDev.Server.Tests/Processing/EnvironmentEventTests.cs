using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Core.Audit;
using GpuDev.Core.Compute;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Processing;

/// <summary>What the provider sees on its own (a pod evicted, an image pull error, nodes added) becomes durable state.</summary>
public sealed class EnvironmentEventTests
{
    private static async Task<ReservationDto> ActiveAsync(ServerFixture server, HttpClient client, CreateReservationRequest request)
    {
        var response = await client.PostAsJsonAsync(Routes.Reservations, request, GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, TestContext.Current.CancellationToken))!;
        return await ServerFixture.WaitForStatusAsync(client, created.Id, "active");
    }

    [Fact]
    public async Task FailedEvent_FailsTheActiveReservation_WithTheReason_AndTearsItDown()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var active = await ActiveAsync(server, client, new() { GpuType = "h100", GpuCount = 8, Hours = 1 });

        server.Provider.Raise(new EnvironmentEvent(EnvironmentEventKind.Failed, active.Id, "pod gpudev-x-0 was evicted: The node was low on resource: memory."));
        var failed = await ServerFixture.WaitForStatusAsync(client, active.Id, "failed");

        Assert.Equal("pod gpudev-x-0 was evicted: The node was low on resource: memory.", failed.History[^1].Reason);
        var audit = await server.Services.GetRequiredService<IAuditLog>().QueryAsync(new AuditQuery(Actor: "system:provider-events"), CancellationToken.None);
        Assert.Equal(active.Id, Assert.Single(audit).Target);
        await WaitAsync(() => server.Provider.Removed.Contains(active.Id) && !server.Provider.Environments.ContainsKey(active.Id));
        var again = await ActiveAsync(server, client, new() { GpuType = "h100", GpuCount = 8, Hours = 1 });
        Assert.Equal("active", again.Status);
    }

    [Fact]
    public async Task FailedEventOnlyWhenActive_LeavesAPreparingReservationAlone()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        server.Provider.NextStatus = new EnvironmentStatus(EnvironmentState.Starting, null);
        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken);
        var created = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, TestContext.Current.CancellationToken))!;
        await ServerFixture.WaitForStatusAsync(client, created.Id, "preparing");

        server.Provider.Raise(new EnvironmentEvent(EnvironmentEventKind.Failed, created.Id, "pod deleted outside gpu-dev") { OnlyWhenActive = true });
        server.Provider.Raise(new EnvironmentEvent(EnvironmentEventKind.Progress, created.Id, "pod gpudev-x-0: ImagePullBackOff: back-off pulling image"));

        await WaitAsync(async () => (await client.GetFromJsonAsync(Routes.Reservation(created.Id), GpuDevJsonContext.Default.ReservationDto))!
            .History.Any(h => h.Reason.Contains("ImagePullBackOff", StringComparison.Ordinal)));
        var dto = (await client.GetFromJsonAsync(Routes.Reservation(created.Id), GpuDevJsonContext.Default.ReservationDto))!;
        Assert.Equal("preparing", dto.Status);
        Assert.Equal(("preparing", "preparing"), (dto.History[^1].From, dto.History[^1].To));
    }

    [Fact]
    public async Task StartingWithAMessage_IsNotedInHistory()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        server.Provider.NextStatus = new EnvironmentStatus(EnvironmentState.Starting, null, "building the image: STEP 2/3: RUN pip install transformers");
        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken);
        var created = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, TestContext.Current.CancellationToken))!;

        await WaitAsync(async () => (await client.GetFromJsonAsync(Routes.Reservation(created.Id), GpuDevJsonContext.Default.ReservationDto))!
            .History.Any(h => h.Reason.StartsWith("building the image", StringComparison.Ordinal)));
        var dto = (await client.GetFromJsonAsync(Routes.Reservation(created.Id), GpuDevJsonContext.Default.ReservationDto))!;
        Assert.Equal("preparing", dto.Status);
        Assert.Single(dto.History, h => h.Reason == "building the image: STEP 2/3: RUN pip install transformers");
    }

    [Fact]
    public async Task NodesChanged_RefreshesTheFleet()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var tooBig = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "t4", GpuCount = 4, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, tooBig.StatusCode);

        server.Provider.Nodes = [.. server.Provider.Nodes, new ComputeNode("t4-node", "t4", 4, false)];
        server.Provider.Raise(new EnvironmentEvent(EnvironmentEventKind.NodesChanged, null, "node t4-node added"));

        await WaitAsync(async () => (await server.Store.GetNodesAsync(CancellationToken.None)).Any(n => n.Name == "t4-node"));
        var active = await ActiveAsync(server, client, new() { GpuType = "t4", GpuCount = 4, Hours = 1 });
        Assert.Equal("t4-node", Assert.Single(active.Nodes).Node);
    }

    private static Task WaitAsync(Func<bool> condition) => WaitAsync(() => Task.FromResult(condition()));

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in 15 s");
            await Task.Delay(20);
        }
    }
}

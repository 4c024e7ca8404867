using System.Net;
using System.Net.Http.Json;
using System.Text;
using GpuDev.Contracts;
using GpuDev.Core.Compute;
using GpuDev.Core.Jobs;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Api;

public sealed class ReservationsApiTests
{
    private static Task<HttpResponseMessage> ReserveAsync(HttpClient client, CreateReservationRequest request, string? key = null)
    {
        var message = new HttpRequestMessage(HttpMethod.Post, Routes.Reservations)
        {
            Content = JsonContent.Create(request, GpuDevJsonContext.Default.CreateReservationRequest),
        };
        if (key is not null)
        {
            message.Headers.Add(Routes.IdempotencyKeyHeader, key);
        }

        return client.SendAsync(message, TestContext.Current.CancellationToken);
    }

    private static async Task<ReservationDto> CreatedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
    }

    private static async Task<List<ReservationDto>> ListAllAsync(HttpClient client, string query = "?user=all&all=true") =>
        (await client.GetFromJsonAsync(Routes.Reservations + query, GpuDevJsonContext.Default.ListReservationDto))!;

    [Fact]
    public async Task Create_ValidRequest_BecomesActiveWithSshAndHistory()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var created = await CreatedAsync(await ReserveAsync(client, new() { GpuType = "h100", GpuCount = 2, Hours = 1 }));
        var active = await ServerFixture.WaitForStatusAsync(client, created.Id, "active");

        Assert.Equal("alice", active.User);
        Assert.Equal(2, active.GpuCount);
        Assert.NotNull(active.Ssh);
        Assert.Equal($"ssh -p {active.Ssh!.Port} dev@127.0.0.1", active.Ssh.Command);
        Assert.Equal(server.Time.GetUtcNow().AddHours(1), active.ExpiresAt);
        Assert.Equal(["pending", "preparing", "active"], active.History.Select(h => h.To));
        Assert.Equal([0, 1], Assert.Single(active.Nodes).GpuIndices);
        Assert.Equal([TestingKeys.Key], server.Provider.Environments[created.Id].AuthorizedKeys);
    }

    public static TheoryData<string, CreateReservationRequest, string> BadRequests => new()
    {
        { "count 3", new() { GpuType = "h100", GpuCount = 3, Hours = 1 }, "GPU count must be one of 1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 48; got 3." },
        { "30 hours", new() { GpuType = "h100", GpuCount = 1, Hours = 30 }, "Duration must be between 0.0833 (5 minutes) and 24 hours; got 30." },
        { "cpu with gpus", new() { GpuType = "cpu-x86", GpuCount = 2, Hours = 1 }, "GPU type 'cpu-x86' is CPU-only and takes 0 GPUs; got 2." },
        { "16 not distributed", new() { GpuType = "h100", GpuCount = 16, Hours = 1 }, "multinode reservations need --distributed" },
        { "unknown type", new() { GpuType = "v100", GpuCount = 1, Hours = 1 }, "valid types: b200, h200, h100" },
        { "disk on multinode", new() { GpuType = "h100", GpuCount = 16, Hours = 1, Distributed = true, Disk = "work" },
            "Named disks cannot be attached to multinode reservations yet (16 h100 GPUs need 2 nodes); reserve with --disk none" },
        { "hostile name", new() { GpuType = "h100", GpuCount = 1, Hours = 1, Name = "a;rm -rf /" }, "Name must be 1-63 characters" },
        { "nsight on part of a node", new() { GpuType = "h100", GpuCount = 4, Hours = 1, NodeLabels = new() { ["nsight"] = "true" } },
            "nsight=true needs whole h100 nodes (it grants SYS_ADMIN on the node): GPU count must be one of 8, 16, 24, 32, 40, 48; got 4." },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Create_BrokenRule_Returns400ProblemAndCreatesNothing(string caseName, CreateReservationRequest request, string expected)
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var response = await ReserveAsync(client, request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!;
        Assert.Equal(ProblemCodes.Validation, problem.Code);
        Assert.True(problem.Detail!.Contains(expected, StringComparison.Ordinal), $"{caseName}: {problem.Detail}");
        Assert.Empty(await ListAllAsync(client));
        Assert.Empty(await server.Store.GetAllocationsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Create_MoreGpusThanAnyNode_Returns422InsufficientCapacity()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var response = await ReserveAsync(client, new() { GpuType = "t4", GpuCount = 1, Hours = 1 });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!;
        Assert.Equal(ProblemCodes.InsufficientCapacity, problem.Code);
        Assert.Contains("no t4 nodes", problem.Detail, StringComparison.Ordinal);
        Assert.Empty(await ListAllAsync(client));
    }

    [Fact]
    public async Task Create_UnsupportedOption_Returns422NotSupported()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var image = await ReserveAsync(client, new() { GpuType = "h100", GpuCount = 1, Hours = 1, DockerImage = "pytorch/pytorch:2.3.0" });
        var label = await ReserveAsync(client, new() { GpuType = "h100", GpuCount = 8, Hours = 1, NodeLabels = new() { ["nsight"] = "true" } });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, image.StatusCode);
        var imageProblem = (await image.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!;
        Assert.Equal(ProblemCodes.NotSupported, imageProblem.Code);
        Assert.Contains("are not supported by the fake provider.", imageProblem.Detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, label.StatusCode);
        Assert.Contains("No h100 node has the labels nsight=true", (await label.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!.Detail, StringComparison.Ordinal);
        Assert.Empty(await ListAllAsync(client));
    }

    [Fact]
    public async Task ListAll_OthersReservation_ShowsOwnerTypeCountStatusAndTimesOnly()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var bob = await server.ClientForAsync("bob");
        var admin = await server.ClientForAsync("root", admin: true);
        var created = (await (await ReserveAsync(alice, new() { GpuType = "h100", GpuCount = 2, Hours = 1, Name = "secret-project" })).Content
            .ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, TestContext.Current.CancellationToken))!;
        await ServerFixture.WaitForStatusAsync(alice, created.Id, "active");

        var seenByBob = Assert.Single(await ListAllAsync(bob));
        var seenByAdmin = Assert.Single(await ListAllAsync(admin));

        Assert.Equal(("alice", "h100", 2, "active"), (seenByBob.User, seenByBob.GpuType, seenByBob.GpuCount, seenByBob.Status));
        Assert.NotNull(seenByBob.ExpiresAt);
        Assert.Null(seenByBob.Name);
        Assert.Null(seenByBob.StatusReason);
        Assert.Null(seenByBob.Ssh);
        Assert.Empty(seenByBob.History);
        Assert.Empty(seenByBob.Nodes);
        Assert.False(seenByBob.CanEdit);
        Assert.Equal("secret-project", seenByAdmin.Name);
        Assert.NotEmpty(seenByAdmin.History);
        Assert.NotNull(seenByAdmin.Ssh);
    }

    [Fact]
    public async Task Create_InvalidJson_Returns400Problem()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var response = await client.PostAsync(Routes.Reservations, new StringContent("{\"gpuType\": 5,", Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(ProblemCodes.BadRequest, (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!.Code);
        Assert.Empty(await ListAllAsync(client));
    }

    [Fact]
    public async Task Create_SameIdempotencyKeyTwice_CreatesOneReservation()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var request = new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 };

        var first = await CreatedAsync(await ReserveAsync(client, request, "key-1"));
        var again = await ReserveAsync(client, request, "key-1");

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(first.Id, (await again.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!.Id);
        Assert.Single(await ListAllAsync(client));
    }

    [Fact]
    public async Task Requests_WithoutOrWithBadToken_Return401()
    {
        await using var server = new ServerFixture();
        var anonymous = server.CreateClient();
        var bad = server.CreateClient();
        bad.DefaultRequestHeaders.Authorization = new("Bearer", "gdt_not-a-token");

        var responses = new[]
        {
            await anonymous.GetAsync(Routes.Reservations, TestContext.Current.CancellationToken),
            await bad.GetAsync(Routes.Me, TestContext.Current.CancellationToken),
            await bad.PostAsync(Routes.Reservations, JsonContent.Create(new CreateReservationRequest { GpuType = "h100", Hours = 1 }, GpuDevJsonContext.Default.CreateReservationRequest), TestContext.Current.CancellationToken),
        };

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        Assert.Equal(ProblemCodes.Unauthorized, (await responses[0].Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!.Code);
        Assert.Empty(await server.Store.ListReservationsAsync(new(), CancellationToken.None));
    }

    [Fact]
    public async Task Get_OtherUsersReservation_Returns404ButAdminSeesIt()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var bob = await server.ClientForAsync("bob");
        var admin = await server.ClientForAsync("root", admin: true);
        var created = await CreatedAsync(await ReserveAsync(alice, new() { GpuType = "h100", GpuCount = 1, Hours = 1 }));

        var asBob = await bob.GetAsync(Routes.Reservation(created.Id), TestContext.Current.CancellationToken);
        var cancelAsBob = await bob.DeleteAsync(Routes.Reservation(created.Id), TestContext.Current.CancellationToken);
        var asAdmin = await admin.GetAsync(Routes.Reservation(created.Id), TestContext.Current.CancellationToken);
        var bobsList = await ListAllAsync(bob, "");
        var everyone = await ListAllAsync(bob, "?user=all");

        Assert.Equal(HttpStatusCode.NotFound, asBob.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, cancelAsBob.StatusCode);
        Assert.Equal(HttpStatusCode.OK, asAdmin.StatusCode);
        Assert.Empty(bobsList);
        Assert.Null(Assert.Single(everyone).Ssh);
        Assert.NotEqual("cancelled", (await ServerFixture.WaitForStatusAsync(alice, created.Id, "active")).Status);
    }

    [Fact]
    public async Task Get_ByPrefix_FindsReservation()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var created = await CreatedAsync(await ReserveAsync(client, new() { GpuType = "h100", Hours = 1 }));

        var found = await client.GetFromJsonAsync(Routes.Reservation(created.Id[..6]), GpuDevJsonContext.Default.ReservationDto, TestContext.Current.CancellationToken);
        var tooShort = await client.GetAsync(Routes.Reservation(created.Id[..3]), TestContext.Current.CancellationToken);

        Assert.Equal(created.Id, found!.Id);
        Assert.Equal(HttpStatusCode.BadRequest, tooShort.StatusCode);
    }

    [Fact]
    public async Task Cancel_ActiveReservation_RemovesEnvironmentAndFreesGpus()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var created = await CreatedAsync(await ReserveAsync(client, new() { GpuType = "h100", GpuCount = 4, Hours = 1 }));
        await ServerFixture.WaitForStatusAsync(client, created.Id, "active");

        var response = await client.DeleteAsync(Routes.Reservation(created.Id), TestContext.Current.CancellationToken);
        var again = await client.DeleteAsync(Routes.Reservation(created.Id), TestContext.Current.CancellationToken);
        await WaitUntilAsync(async () => (await server.Store.GetAllocationsAsync(CancellationToken.None)).Count == 0);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains(created.Id, server.Provider.Removed);
        Assert.False(server.Provider.Environments.ContainsKey(created.Id));
        var cancelled = (await ListAllAsync(client)).Single();
        Assert.Equal("cancelled", cancelled.Status);
        Assert.Null(cancelled.Ssh);
    }

    [Fact]
    public async Task Create_FleetFull_QueuesWithReasonThenStartsWhenGpusFree()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var first = await CreatedAsync(await ReserveAsync(client, new() { GpuType = "h100", GpuCount = 8, Hours = 1 }));
        var firstActive = await ServerFixture.WaitForStatusAsync(client, first.Id, "active");

        var second = await CreatedAsync(await ReserveAsync(client, new() { GpuType = "h100", GpuCount = 4, Hours = 1 }));
        var queued = await ServerFixture.WaitForStatusAsync(client, second.Id, "queued");
        await client.DeleteAsync(Routes.Reservation(first.Id), TestContext.Current.CancellationToken);
        var active = await ServerFixture.WaitForStatusAsync(client, second.Id, "active");

        Assert.Equal(1, queued.QueuePosition);
        Assert.Equal(firstActive.ExpiresAt!.Value, queued.EstimatedStartAt);
        Assert.Equal($"no node has 4 free h100; largest free block is 0 on node-0; 4 free at {firstActive.ExpiresAt!.Value.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss}Z when {first.Id[..8]} ends on node-0", queued.WaitReason);
        Assert.Equal([0, 1, 2, 3], Assert.Single(active.Nodes).GpuIndices);
    }

    [Fact]
    public async Task Active_PastEndTime_ExpiresAndFreesGpus()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var created = await CreatedAsync(await ReserveAsync(client, new() { GpuType = "h100", GpuCount = 1, Hours = 0.5 }));
        await ServerFixture.WaitForStatusAsync(client, created.Id, "active");

        server.Time.Advance(TimeSpan.FromMinutes(31));
        var expired = await ServerFixture.WaitForStatusAsync(client, created.Id, "expired");
        await WaitUntilAsync(async () => (await server.Store.GetAllocationsAsync(CancellationToken.None)).Count == 0);

        Assert.Equal("reached its end time", expired.StatusReason);
        Assert.Contains(created.Id, server.Provider.Removed);
    }

    [Fact]
    public async Task Provision_UserWithoutKeys_FailsWithReason()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice", withKey: false);

        var created = await CreatedAsync(await ReserveAsync(client, new() { GpuType = "h100", GpuCount = 1, Hours = 1 }));
        var failed = await ServerFixture.WaitForStatusAsync(client, created.Id, "failed");

        Assert.StartsWith("no SSH public key", failed.StatusReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Provision_ProviderFails_RetriesThenFailsAndFreesGpus()
    {
        await using var server = new ServerFixture();
        server.Provider.NextStatus = new EnvironmentStatus(EnvironmentState.Failed, null, "sshd exited");
        var client = await server.ClientForAsync("alice");

        var created = await CreatedAsync(await ReserveAsync(client, new() { GpuType = "h100", GpuCount = 1, Hours = 1 }));
        for (var i = 0; i < 10 && (await server.Store.GetReservationAsync(created.Id, CancellationToken.None))!.Status.ToString() != "Failed"; i++)
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
            server.Time.Advance(TimeSpan.FromSeconds(5));
        }

        var failed = await ServerFixture.WaitForStatusAsync(client, created.Id, "failed");
        await WaitUntilAsync(async () => (await server.Store.GetAllocationsAsync(CancellationToken.None)).Count == 0);
        Assert.Equal("environment could not start: sshd exited", failed.StatusReason);
    }

    [Fact]
    public async Task GpuTypes_ReturnsSeedCatalog()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var types = await client.GetFromJsonAsync(Routes.GpuTypes, GpuDevJsonContext.Default.GpuTypesResponse, TestContext.Current.CancellationToken);
        var me = await client.GetFromJsonAsync(Routes.Me, GpuDevJsonContext.Default.MeDto, TestContext.Current.CancellationToken);

        Assert.Equal(10, types!.Types.Count);
        Assert.Equal(8, types.Types.Single(t => t.Name == "h100").GpusPerNode);
        Assert.Equal("alice", me!.Name);
    }

    [Fact]
    public async Task Startup_EnvironmentOfUnknownReservation_IsRemoved()
    {
        var fixture = new ServerFixture();
        await using var server = fixture;
        var orphan = new string('a', 32);
        server.Provider.Environments[orphan] = new EnvironmentSpec { ReservationId = orphan, Owner = "x", AuthorizedKeys = [], Allocations = [], GpuType = "h100" };

        _ = server.CreateClient();

        Assert.Contains(orphan, server.Provider.Removed);
        Assert.DoesNotContain((await server.Store.GetAllocationsAsync(CancellationToken.None)), a => a.ReservationId == orphan);
        Assert.DoesNotContain(await server.Services.GetRequiredService<IJobQueue>().ListAsync(CancellationToken.None), j => j.ReservationId == orphan);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }
}

internal static class TestingKeys
{
    public const string Key = GpuDev.Testing.TestKeys.Ed25519;
}

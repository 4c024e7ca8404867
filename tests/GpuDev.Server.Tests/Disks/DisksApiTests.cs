using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Disks;

public sealed class DisksApiTests
{
    private static async Task<HttpResponseMessage> CreateDiskAsync(HttpClient client, string name) =>
        await client.PostAsJsonAsync(Routes.Disks, new CreateDiskRequest(name), GpuDevJsonContext.Default.CreateDiskRequest);

    private static async Task<List<DiskDto>> ListAsync(HttpClient client, string query = "") =>
        (await client.GetFromJsonAsync(Routes.Disks + query, GpuDevJsonContext.Default.ListDiskDto))!;

    private static Task<HttpResponseMessage> ReserveAsync(HttpClient client, string? disk) =>
        client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1, Disk = disk }, GpuDevJsonContext.Default.CreateReservationRequest);

    private static async Task<string> ProblemDetailAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!.Detail!;

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            await Task.Delay(20);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("../etc")]
    [InlineData("none")]
    [InlineData("has space")]
    public async Task Create_BadName_400AndNothingCreated(string name)
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var response = await CreateDiskAsync(client, name);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("1-64 characters", await ProblemDetailAsync(response), StringComparison.Ordinal);
        Assert.Empty(await ListAsync(client));
    }

    [Fact]
    public async Task Names_AreNotCaseSensitive()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        Assert.Equal(HttpStatusCode.Created, (await CreateDiskAsync(client, "my-project")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await CreateDiskAsync(client, "other")).StatusCode);
        var upper = await CreateDiskAsync(client, "MY-PROJECT");
        var renameOnto = await client.PostAsJsonAsync(Routes.Disk("other") + "/rename", new RenameDiskRequest("My-Project"), GpuDevJsonContext.Default.RenameDiskRequest);
        var renameOwnCase = await client.PostAsJsonAsync(Routes.Disk("MY-project") + "/rename", new RenameDiskRequest("My-Project"), GpuDevJsonContext.Default.RenameDiskRequest);
        var deleteByOtherCase = await client.DeleteAsync(Routes.Disk("my-PROJECT"));

        Assert.Equal(HttpStatusCode.Conflict, upper.StatusCode);
        Assert.Contains("You already have a disk named my-project (disk names are not case-sensitive)", await ProblemDetailAsync(upper), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, renameOnto.StatusCode);
        Assert.Equal(HttpStatusCode.OK, renameOwnCase.StatusCode);
        Assert.Equal(HttpStatusCode.OK, deleteByOtherCase.StatusCode);
        Assert.Equal(["other"], (await ListAsync(client)).Select(d => d.Name));
    }

    [Fact]
    public async Task Create_ListRenameAndDuplicates()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var bob = await server.ClientForAsync("bob");

        Assert.Equal(HttpStatusCode.Created, (await CreateDiskAsync(client, "pytorch-dev")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await CreateDiskAsync(client, "other")).StatusCode);
        var duplicate = await CreateDiskAsync(client, "pytorch-dev");
        var bobsSameName = await CreateDiskAsync(bob, "pytorch-dev");
        var renameTaken = await client.PostAsJsonAsync(Routes.Disk("other") + "/rename", new RenameDiskRequest("pytorch-dev"), GpuDevJsonContext.Default.RenameDiskRequest);
        var renamed = await client.PostAsJsonAsync(Routes.Disk("other") + "/rename", new RenameDiskRequest("llm_training"), GpuDevJsonContext.Default.RenameDiskRequest);

        Assert.Equal(HttpStatusCode.Conflict, duplicate.StatusCode);
        Assert.Equal(HttpStatusCode.Created, bobsSameName.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, renameTaken.StatusCode);
        Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
        var disks = await ListAsync(client);
        Assert.Equal(["llm_training", "pytorch-dev"], disks.Select(d => d.Name));
        Assert.All(disks, d => Assert.Equal("available", d.Status));
        Assert.All(disks, d => Assert.Equal(107_374_182_400, d.QuotaBytes));
    }

    [Fact]
    public async Task Reserve_UnknownDiskOrDiskInUse_RefusedWithTheWayOut_NothingCreated()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        await CreateDiskAsync(client, "work");
        var first = (await (await ReserveAsync(client, "work")).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;

        var unknown = await ReserveAsync(client, "nope");
        var held = await ReserveAsync(client, "work");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var missing = (await unknown.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!;
        Assert.Equal(ProblemCodes.NotFound, missing.Code);
        Assert.Equal("You have no disk named nope; create it with: gpu-dev disk create nope", missing.Detail);
        Assert.Equal(HttpStatusCode.Conflict, held.StatusCode);
        Assert.Equal($"Disk work is in use by reservation {first.Id[..8]}; cancel it or use --disk none.", await ProblemDetailAsync(held));
        var all = await client.GetFromJsonAsync(Routes.Reservations + "?all=true", GpuDevJsonContext.Default.ListReservationDto);
        Assert.Equal([first.Id], all!.Select(r => r.Id));
    }

    [Fact]
    public async Task Reserve_WithDisk_InUseThenSnapshottedAndAvailableAfterCancel()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        await CreateDiskAsync(client, "work");
        var diskId = (await server.Services.GetRequiredService<GpuDev.Core.Disks.IDiskStore>().FindDiskAsync(
            (await server.Store.FindUserByNameAsync("alice", CancellationToken.None))!.Id, "work", false, CancellationToken.None))!.Id;

        var created = (await (await ReserveAsync(client, "work")).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
        var active = await ServerFixture.WaitForStatusAsync(client, created.Id, "active");
        var inUse = (await ListAsync(client)).Single();
        var deleteInUse = await client.DeleteAsync(Routes.Disk("work"));
        server.Disks.Data[diskId]["notes.txt"] = 42;
        await client.DeleteAsync(Routes.Reservation(created.Id));
        await WaitAsync(async () => (await ListAsync(client)).Single().Status == "available");
        var content = await client.GetFromJsonAsync(Routes.Disk("work") + "/content", GpuDevJsonContext.Default.DiskContentDto);
        var again = (await (await ReserveAsync(client, "work")).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;

        Assert.Equal("work", active.Disk);
        Assert.Equal(diskId, server.Provider.Removed.Contains(created.Id) ? diskId : null);
        Assert.Equal("in-use", inUse.Status);
        Assert.Equal(created.Id, inUse.AttachedTo);
        Assert.Equal(HttpStatusCode.Conflict, deleteInUse.StatusCode);
        var deleteDetail = await ProblemDetailAsync(deleteInUse);
        Assert.Contains($"in use by reservation {created.Id[..8]}; it can be changed once that reservation ends (gpu-dev cancel {created.Id[..8]})", deleteDetail, StringComparison.Ordinal);
        Assert.DoesNotContain("--disk none", deleteDetail, StringComparison.Ordinal);
        Assert.Equal([new DiskFileDto("notes.txt", 42)], content!.Files);
        Assert.Equal(created.Id, content.SnapshotId);
        Assert.Equal(1, (await ListAsync(client)).Single().SnapshotCount);
        Assert.Equal(diskId, (await ServerFixture.WaitForStatusAsync(client, again.Id, "active")).Disk is "work" ? diskId : null);
    }

    [Fact]
    public async Task Reserve_SameDiskConcurrently_ExactlyOneGetsIt()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        await CreateDiskAsync(client, "shared");

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => ReserveAsync(client, "shared")));

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.Equal(7, responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
        var winner = (await responses.Single(r => r.StatusCode == HttpStatusCode.Created).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
        Assert.Contains($"in use by reservation {winner.Id[..8]}", await ProblemDetailAsync(responses.First(r => r.StatusCode == HttpStatusCode.Conflict)), StringComparison.Ordinal);
        Assert.Single(await server.Store.ListReservationsAsync(new(), CancellationToken.None));
    }

    [Fact]
    public async Task Reserve_MissingDisk_404WithCreateHint()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var response = await ReserveAsync(client, "nope");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("gpu-dev disk create nope", await ProblemDetailAsync(response), StringComparison.Ordinal);
        Assert.Empty(await server.Store.ListReservationsAsync(new(), CancellationToken.None));
    }

    [Fact]
    public async Task Delete_IsSoft_SnapshotsKeptUntilPurgeDate()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        await CreateDiskAsync(client, "old");
        var created = (await (await ReserveAsync(client, "old")).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
        await ServerFixture.WaitForStatusAsync(client, created.Id, "active");
        await client.DeleteAsync(Routes.Reservation(created.Id));
        await WaitAsync(async () => (await ListAsync(client)).Single().Status == "available");

        var deleted = await client.DeleteAsync(Routes.Disk("old"));
        var visible = await ListAsync(client);
        var withDeleted = await ListAsync(client, "?all=true");
        var reserveDeleted = await ReserveAsync(client, "old");
        var recreate = await CreateDiskAsync(client, "old");

        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        var dto = (await deleted.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.DiskDto))!;
        Assert.Equal("deleted", dto.Status);
        Assert.Equal(dto.DeletedAt!.Value.AddDays(30), dto.PurgeAt);
        Assert.Equal(1, dto.SnapshotCount);
        Assert.Empty(visible);
        Assert.Equal("deleted", Assert.Single(withDeleted).Status);
        Assert.Equal(HttpStatusCode.NotFound, reserveDeleted.StatusCode);
        Assert.Equal(HttpStatusCode.Created, recreate.StatusCode);
        Assert.Empty(server.Disks.Purged);
    }

    [Fact]
    public async Task List_OtherUser_AdminOnly()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var bob = await server.ClientForAsync("bob");
        var admin = await server.ClientForAsync("root", admin: true);
        await CreateDiskAsync(alice, "mine");

        var asBob = await bob.GetAsync(Routes.Disks + "?user=alice");
        var asAdmin = await ListAsync(admin, "?user=alice");

        Assert.Equal(HttpStatusCode.Forbidden, asBob.StatusCode);
        Assert.Equal("mine", Assert.Single(asAdmin).Name);
        Assert.Empty(await ListAsync(bob));
    }
}

public sealed class DiskLifecycleTests
{
    private static async Task<ReservationDto> UseOnceAsync(ServerFixture server, HttpClient client, string disk, string file, long size)
    {
        var created = (await (await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1, Disk = disk },
            GpuDevJsonContext.Default.CreateReservationRequest)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
        await ServerFixture.WaitForStatusAsync(client, created.Id, "active");
        var diskId = server.Disks.Data.Keys.Single();
        server.Disks.Data[diskId][file] = size;
        await client.DeleteAsync(Routes.Reservation(created.Id));
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while ((await client.GetFromJsonAsync(Routes.Disks, GpuDevJsonContext.Default.ListDiskDto))!.Single().Status != "available")
        {
            Assert.True(DateTime.UtcNow < deadline);
            await Task.Delay(20);
        }

        return created;
    }

    [Fact]
    public async Task Restore_OlderSnapshot_BringsItsContentBack()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        await client.PostAsJsonAsync(Routes.Disks, new CreateDiskRequest("work"), GpuDevJsonContext.Default.CreateDiskRequest);
        var first = await UseOnceAsync(server, client, "work", "a.txt", 1);
        await UseOnceAsync(server, client, "work", "b.txt", 2);

        var snapshots = await client.GetFromJsonAsync(Routes.Disk("work") + "/snapshots", GpuDevJsonContext.Default.ListDiskSnapshotDto);
        var restored = await client.PostAsJsonAsync(Routes.Disk("work") + "/restore", new RestoreDiskRequest(first.Id[..8]), GpuDevJsonContext.Default.RestoreDiskRequest);
        var unknown = await client.PostAsJsonAsync(Routes.Disk("work") + "/restore", new RestoreDiskRequest("ffffffff"), GpuDevJsonContext.Default.RestoreDiskRequest);

        Assert.Equal(2, snapshots!.Count);
        Assert.Equal(HttpStatusCode.OK, restored.StatusCode);
        Assert.Equal(["a.txt"], server.Disks.Data.Values.Single().Keys);
        Assert.Equal("available", (await restored.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.DiskDto))!.Status);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Snapshots_BeyondKeepCount_OldestDeleted()
    {
        await using var server = new ServerFixture(new Dictionary<string, string> { ["Disks:KeepSnapshots"] = "2" });
        var client = await server.ClientForAsync("alice");
        await client.PostAsJsonAsync(Routes.Disks, new CreateDiskRequest("work"), GpuDevJsonContext.Default.CreateDiskRequest);
        var first = await UseOnceAsync(server, client, "work", "a", 1);
        server.Time.Advance(TimeSpan.FromMinutes(1));
        await UseOnceAsync(server, client, "work", "b", 1);
        server.Time.Advance(TimeSpan.FromMinutes(1));
        await UseOnceAsync(server, client, "work", "c", 1);

        var snapshots = await client.GetFromJsonAsync(Routes.Disk("work") + "/snapshots", GpuDevJsonContext.Default.ListDiskSnapshotDto);

        Assert.Equal(2, snapshots!.Count);
        Assert.DoesNotContain(snapshots, s => s.Id == first.Id);
        Assert.False(server.Disks.Snapshots.ContainsKey((server.Disks.Data.Keys.Single(), first.Id)));
    }

    [Fact]
    public async Task Deleted_UndeleteBeforePurge_PurgedAfterThePurgeDelay()
    {
        // 30 days by default; a short delay here, because FakeTimeProvider fires the 1 s lifecycle timer for every period it skips.
        await using var server = new ServerFixture(new Dictionary<string, string> { ["Disks:PurgeAfter"] = "00:30:00" });
        var client = await server.ClientForAsync("alice");
        await client.PostAsJsonAsync(Routes.Disks, new CreateDiskRequest("keep"), GpuDevJsonContext.Default.CreateDiskRequest);
        await client.PostAsJsonAsync(Routes.Disks, new CreateDiskRequest("gone"), GpuDevJsonContext.Default.CreateDiskRequest);
        await client.DeleteAsync(Routes.Disk("keep"));
        await client.DeleteAsync(Routes.Disk("gone"));

        var undeleted = await client.PostAsync(Routes.Disk("keep") + "/undelete", null);
        server.Time.Advance(TimeSpan.FromMinutes(29));
        await server.SettleAsync();
        Assert.Empty(server.Disks.Purged);
        server.Time.Advance(TimeSpan.FromMinutes(2));
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (server.Disks.Purged.IsEmpty && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var late = await client.PostAsync(Routes.Disk("gone") + "/undelete", null);

        Assert.Equal(HttpStatusCode.OK, undeleted.StatusCode);
        Assert.Single(server.Disks.Purged);
        Assert.Equal(HttpStatusCode.NotFound, late.StatusCode);
        Assert.Equal(["keep"], (await client.GetFromJsonAsync(Routes.Disks + "?all=true", GpuDevJsonContext.Default.ListDiskDto))!.Select(d => d.Name));
    }

    [Fact]
    public async Task RecreateEnv_WithoutDisk_400()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1, RecreateEnv = true },
            GpuDevJsonContext.Default.CreateReservationRequest);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("--recreate-env needs --disk NAME", (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!.Detail, StringComparison.Ordinal);
    }
}

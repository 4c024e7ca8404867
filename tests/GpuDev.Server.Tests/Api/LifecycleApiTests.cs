using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;

namespace GpuDev.Server.Tests.Api;

public sealed class LifecycleApiTests
{
    private static async Task<ReservationDto> ActiveAsync(ServerFixture server, HttpClient client, double hours = 1, bool jupyter = false)
    {
        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = hours, Jupyter = jupyter }, GpuDevJsonContext.Default.CreateReservationRequest);
        var created = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
        return await ServerFixture.WaitForStatusAsync(client, created.Id, "active");
    }

    private static Task<HttpResponseMessage> EditAsync(HttpClient client, string id, EditReservationRequest edit) =>
        client.PatchAsync(Routes.Reservation(id), JsonContent.Create(edit, GpuDevJsonContext.Default.EditReservationRequest));

    private static async Task<ReservationDto> GetAsync(HttpClient client, string id) =>
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

    [Fact]
    public async Task Warnings_At30_15_5Minutes_EachDeliveredOnce()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var reservation = await ActiveAsync(server, client);

        server.Time.Advance(TimeSpan.FromMinutes(29));
        await server.SettleAsync();
        Assert.Empty(server.Provider.Warnings);
        server.Time.Advance(TimeSpan.FromMinutes(2));
        await WaitAsync(() => Task.FromResult(server.Provider.Warnings.Count == 1));
        server.Time.Advance(TimeSpan.FromMinutes(15));
        await WaitAsync(() => Task.FromResult(server.Provider.Warnings.Count == 2));
        server.Time.Advance(TimeSpan.FromMinutes(10));
        await WaitAsync(() => Task.FromResult(server.Provider.Warnings.Count == 3));
        server.Time.Advance(TimeSpan.FromMinutes(1));
        await server.SettleAsync();

        Assert.Equal(["EXPIRES_IN_30_MIN", "EXPIRES_IN_15_MIN", "EXPIRES_IN_5_MIN"], server.Provider.Warnings.Select(w => w.FileName));
        Assert.StartsWith($"reservation {reservation.Id[..8]} expires in 29 minutes", server.Provider.Warnings.First().Message, StringComparison.Ordinal);
        Assert.Equal([30, 15, 5], (await GetAsync(client, reservation.Id)).Warnings.Select(w => w.MinutesBefore));
    }

    [Fact]
    public async Task Warnings_SixMinuteReservation_Only5MinuteWarning()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var reservation = await ActiveAsync(server, client, hours: 0.1);
        server.Time.Advance(TimeSpan.FromSeconds(1));
        server.Time.Advance(TimeSpan.FromMinutes(1.5));
        await WaitAsync(() => Task.FromResult(server.Provider.Warnings.Count == 1));

        Assert.Equal(["EXPIRES_IN_5_MIN"], server.Provider.Warnings.Select(w => w.FileName));
        Assert.Contains("expires in 5 minutes", server.Provider.Warnings.First().Message, StringComparison.Ordinal);
        Assert.Equal([5], (await server.Store.GetReservationAsync(reservation.Id, CancellationToken.None))!.Warnings.Select(w => w.MinutesBefore));
    }

    [Fact]
    public async Task Warnings_HalfHourReservation_No30MinuteWarningAtTheStart()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var reservation = await ActiveAsync(server, client, hours: 0.5);
        server.Time.Advance(TimeSpan.FromSeconds(1));
        server.Time.Advance(TimeSpan.FromMinutes(15));
        await WaitAsync(() => Task.FromResult(server.Provider.Warnings.Count == 1));

        // Not even recorded silently: the store holds only the 15-minute one.
        Assert.Equal(["EXPIRES_IN_15_MIN"], server.Provider.Warnings.Select(w => w.FileName));
        Assert.Equal([15], (await server.Store.GetReservationAsync(reservation.Id, CancellationToken.None))!.Warnings.Select(w => w.MinutesBefore));
    }

    [Fact]
    public async Task Warnings_HalfHourExtendedBy1Hour_30MinuteWarningBeforeTheNewEnd()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var reservation = await ActiveAsync(server, client, hours: 0.5);

        server.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(HttpStatusCode.OK, (await EditAsync(client, reservation.Id, new() { ExtendHours = 1 })).StatusCode);
        server.Time.Advance(TimeSpan.FromMinutes(50));
        await WaitAsync(() => Task.FromResult(server.Provider.Warnings.Count == 1));

        Assert.Equal(["EXPIRES_IN_30_MIN"], server.Provider.Warnings.Select(w => w.FileName));
        Assert.Contains("expires in 30 minutes", server.Provider.Warnings.First().Message, StringComparison.Ordinal);
        var stored = (await server.Store.GetReservationAsync(reservation.Id, CancellationToken.None))!;
        Assert.Equal(reservation.StartedAt!.Value + TimeSpan.FromMinutes(10), stored.ExtendedAt);
    }

    [Fact]
    public async Task Extend_IntoAStartPromisedToAWaitingRequest_RefusedWithHowMuchFits_NothingChanged()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var bob = await server.ClientForAsync("bob");
        // node-0 (8 GPUs): alice holds 4 for 1 h, bob 4 for 3 h; carol's 8-GPU request is promised the node at bob's end.
        var short4 = await ActiveWithAsync(alice, 4, hours: 1);
        var long4 = await ActiveWithAsync(bob, 4, hours: 3);
        var carol = await server.ClientForAsync("carol");
        var waiting = (await (await carol.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 8, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
        ReservationDto? queued = null;
        await WaitAsync(async () => (queued = await GetAsync(carol, waiting.Id)) is { Status: "queued", EstimatedStartAt: not null });

        var tooLong = await EditAsync(alice, short4.Id, new() { ExtendHours = 4 });
        var problem = (await tooLong.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!;
        var unchanged = await GetAsync(alice, short4.Id);
        var bobsAnyMore = await EditAsync(bob, long4.Id, new() { ExtendHours = 1 });
        // What the refusal offered goes through, and carol's start stays where it was promised.
        var fits = await EditAsync(alice, short4.Id, new() { ExtendHours = 2 });
        await server.SettleAsync();
        var after = await GetAsync(carol, waiting.Id);

        Assert.Equal(long4.ExpiresAt, queued!.EstimatedStartAt);
        Assert.Equal(HttpStatusCode.Conflict, tooLong.StatusCode);
        Assert.Equal(ProblemCodes.Conflict, problem.Code);
        Assert.Contains($"would push back waiting request {waiting.Id[..8]} past the start it was promised ({queued.EstimatedStartAt!.Value.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'})", problem.Detail, StringComparison.Ordinal);
        Assert.Contains("extend by at most 2 h", problem.Detail, StringComparison.Ordinal);
        Assert.Equal(short4.ExpiresAt, unchanged.ExpiresAt);
        Assert.Equal(0, unchanged.ExtendedHours);
        Assert.Equal(HttpStatusCode.Conflict, bobsAnyMore.StatusCode);
        Assert.Contains("cannot be extended now", (await bobsAnyMore.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!.Detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
        Assert.Equal(queued.EstimatedStartAt, after.EstimatedStartAt);
    }

    private static async Task<ReservationDto> ActiveWithAsync(HttpClient client, int gpus, double hours)
    {
        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = gpus, Hours = hours }, GpuDevJsonContext.Default.CreateReservationRequest);
        var created = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
        return await ServerFixture.WaitForStatusAsync(client, created.Id, "active");
    }

    [Fact]
    public async Task Extend_Once_MovesEndClearsWarningsAndSecondIsRefused()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var reservation = await ActiveAsync(server, client, hours: 1);

        var tooMuch = await EditAsync(client, reservation.Id, new() { ExtendHours = 25 });
        var extended = await EditAsync(client, reservation.Id, new() { ExtendHours = 24 });
        var again = await EditAsync(client, reservation.Id, new() { ExtendHours = 1 });

        Assert.Equal(HttpStatusCode.BadRequest, tooMuch.StatusCode);
        Assert.Equal(HttpStatusCode.OK, extended.StatusCode);
        var dto = (await extended.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
        Assert.Equal(reservation.ExpiresAt!.Value.AddHours(24), dto.ExpiresAt);
        Assert.Equal(24, dto.ExtendedHours);
        Assert.Contains(reservation.Id, server.Provider.ClearedWarnings);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var problem = (await again.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!;
        Assert.Equal(ProblemCodes.Conflict, problem.Code);
        Assert.Contains("can be extended once", problem.Detail, StringComparison.Ordinal);
        Assert.Equal(dto.ExpiresAt, (await GetAsync(client, reservation.Id)).ExpiresAt);
    }

    [Fact]
    public async Task Jupyter_EnableAndDisable_ShowsUrlWhileRunning()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var reservation = await ActiveAsync(server, client);

        var enabled = (await (await EditAsync(client, reservation.Id, new() { Jupyter = true })).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
        var disabled = (await (await EditAsync(client, reservation.Id, new() { Jupyter = false })).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;

        Assert.True(enabled.Jupyter);
        Assert.Equal($"http://127.0.0.1:41000/lab?token=tok-{reservation.Id[..8]}", enabled.JupyterUrl);
        Assert.False(disabled.Jupyter);
        Assert.Null(disabled.JupyterUrl);
        Assert.Empty(server.Provider.Jupyter);
    }

    [Fact]
    public async Task Jupyter_NotInstalled_422AndNothingChanges()
    {
        await using var server = new ServerFixture();
        server.Provider.JupyterUnavailable = "Jupyter is not installed on this host";
        var client = await server.ClientForAsync("alice");
        var reservation = await ActiveAsync(server, client);

        var response = await EditAsync(client, reservation.Id, new() { Jupyter = true, ExtendHours = 2 });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("Jupyter is not installed on this host", (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!.Detail);
        var after = await GetAsync(client, reservation.Id);
        Assert.False(after.Jupyter);
        Assert.Equal(0, after.ExtendedHours);
        Assert.Equal(reservation.ExpiresAt, after.ExpiresAt);
    }

    [Fact]
    public async Task Reserve_WithJupyter_ActiveWithUrl()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");

        var reservation = await ActiveAsync(server, client, jupyter: true);

        Assert.True(reservation.Jupyter);
        Assert.NotNull(reservation.JupyterUrl);
    }

    [Fact]
    public async Task AddUser_SeesAndConnectsButCannotCancelOrEdit()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var bob = await server.ClientForAsync("bob", withKey: false, github: "bob-gh");
        var carol = await server.ClientForAsync("carol");
        server.KeySource.Keys["bob-gh"] = [GpuDev.Testing.TestKeys.Ed25519.Replace("test@gpu-dev", "bob", StringComparison.Ordinal)];
        var reservation = await ActiveAsync(server, alice);

        var added = await EditAsync(alice, reservation.Id, new() { AddUsers = ["bob-gh"] });
        var bobsList = (await bob.GetFromJsonAsync(Routes.Reservations, GpuDevJsonContext.Default.ListReservationDto))!;
        var bobsView = await GetAsync(bob, reservation.Id[..8]);
        var bobCancels = await bob.DeleteAsync(Routes.Reservation(reservation.Id));
        var bobEdits = await EditAsync(bob, reservation.Id, new() { ExtendHours = 1 });
        var carolSees = await carol.GetAsync(Routes.Reservation(reservation.Id));

        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        Assert.Equal(["bob-gh"], (await GetAsync(alice, reservation.Id)).AddedUsers);
        Assert.Equal(reservation.Id, Assert.Single(bobsList).Id);
        Assert.NotNull(bobsView.Ssh);
        Assert.False(bobsView.CanEdit);
        Assert.Equal(HttpStatusCode.Forbidden, bobCancels.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, bobEdits.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, carolSees.StatusCode);
        Assert.Equal("active", (await GetAsync(alice, reservation.Id)).Status);
        Assert.Contains(server.Provider.Environments[reservation.Id].AuthorizedKeys, k => k.EndsWith(" bob", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddUser_WhoCouldNotLogIn_RefusedWithTheReason_NothingChanged()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        server.KeySource.Missing["ghost-gh"] = true;
        var reservation = await ActiveAsync(server, alice);

        var unknown = await EditAsync(alice, reservation.Id, new() { AddUsers = ["ghost-gh"] });
        var keyless = await EditAsync(alice, reservation.Id, new() { AddUsers = ["keyless-gh"] });
        server.KeySource.Unreachable = true;
        var unreachable = await EditAsync(alice, reservation.Id, new() { AddUsers = ["someone-gh"] });

        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("There is no GitHub user ghost-gh", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, keyless.StatusCode);
        Assert.Contains("GitHub user keyless-gh has no SSH keys", await keyless.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, unreachable.StatusCode);
        Assert.Contains("could not be fetched", await unreachable.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Empty((await GetAsync(alice, reservation.Id)).AddedUsers);
    }

    [Fact]
    public async Task SetGithubUser_KeysOfThatLoginEnterNewReservations_UnknownLoginRefusedAndNotKept()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice", withKey: false);
        server.KeySource.Keys["alice-gh"] = [GpuDev.Testing.TestKeys.Ed25519.Replace("test@gpu-dev", "alice-from-github", StringComparison.Ordinal)];
        server.KeySource.Missing["ghost-gh"] = true;

        var refused = await alice.PutAsJsonAsync(Routes.MeGithubUser, new SetGithubUserRequest("ghost-gh"), GpuDevJsonContext.Default.SetGithubUserRequest);
        var meAfterRefusal = await alice.GetFromJsonAsync(Routes.Me, GpuDevJsonContext.Default.MeDto);
        var set = await alice.PutAsJsonAsync(Routes.MeGithubUser, new SetGithubUserRequest("@alice-gh"), GpuDevJsonContext.Default.SetGithubUserRequest);
        var reservation = await ActiveAsync(server, alice);

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Null(meAfterRefusal!.GithubUser);
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        Assert.Equal("alice-gh", (await alice.GetFromJsonAsync(Routes.Me, GpuDevJsonContext.Default.MeDto))!.GithubUser);
        Assert.Contains(server.Provider.Environments[reservation.Id].AuthorizedKeys, k => k.EndsWith(" alice-from-github", StringComparison.Ordinal));
    }

    /// <summary>Waiting for a slow environment is not failing: after many "still starting" polls, one failure is the
    /// first of the three allowed, not the last.</summary>
    [Fact]
    public async Task Provision_SlowStartThenOneFailure_RetriedNotFailed()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        server.Provider.NextStatus = new GpuDev.Core.Compute.EnvironmentStatus(GpuDev.Core.Compute.EnvironmentState.Starting, null, "pulling the image");
        var created = (await (await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;

        await WaitUntilAsync(server, () => Task.FromResult(server.Provider.EnsureCalls >= 5));
        var failedAt = server.Provider.EnsureCalls;
        server.Provider.NextStatus = new GpuDev.Core.Compute.EnvironmentStatus(GpuDev.Core.Compute.EnvironmentState.Failed, null, "image pull timed out");
        await WaitUntilAsync(server, () => Task.FromResult(server.Provider.EnsureCalls > failedAt));
        server.Provider.NextStatus = null;

        ReservationDto? last = null;
        await WaitUntilAsync(server, async () => (last = await GetAsync(client, created.Id)).Status is "active" or "failed");
        Assert.Equal("active", last!.Status);
    }

    /// <summary>Moves the fake clock 600 ms at a time (past the 500 ms poll and the 1 s backoff) until the condition holds.</summary>
    private static async Task WaitUntilAsync(ServerFixture server, Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met in time");
            server.Time.Advance(TimeSpan.FromMilliseconds(600));
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Edit_NoChangeOrEndedReservation_Refused()
    {
        await using var server = new ServerFixture();
        var client = await server.ClientForAsync("alice");
        var reservation = await ActiveAsync(server, client);

        var empty = await EditAsync(client, reservation.Id, new());
        await client.DeleteAsync(Routes.Reservation(reservation.Id));
        var ended = await EditAsync(client, reservation.Id, new() { ExtendHours = 1 });

        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, ended.StatusCode);
        Assert.Equal(ProblemCodes.InvalidTransition, (await ended.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto))!.Code);
    }
}

public sealed class LifecycleRestartTests
{
    [Fact]
    public async Task Restart_WarningNotRepeated_AndExpiryMissedWhileDownHappensOnStart()
    {
        var first = new ServerFixture();
        var client = await first.ClientForAsync("alice");
        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 }, GpuDevJsonContext.Default.CreateReservationRequest);
        var id = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!.Id;
        await ServerFixture.WaitForStatusAsync(client, id, "active");
        first.Time.Advance(TimeSpan.FromMinutes(31));
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (first.Provider.Warnings.Count == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        var second = await first.RestartAsync();
        var again = second.CreateDefaultClient();
        again.DefaultRequestHeaders.Authorization = client.DefaultRequestHeaders.Authorization;
        await ServerFixture.WaitForStatusAsync(again, id, "active");
        await second.SettleAsync();

        await using var third = await second.RestartAsync();
        third.Time.Advance(TimeSpan.FromHours(2));
        var afterDowntime = third.CreateDefaultClient();
        afterDowntime.DefaultRequestHeaders.Authorization = client.DefaultRequestHeaders.Authorization;
        var expired = await ServerFixture.WaitForStatusAsync(afterDowntime, id, "expired");

        Assert.Single(first.Provider.Warnings);
        Assert.Equal("reached its end time", expired.StatusReason);
        Assert.Contains(id, third.Provider.Removed);
    }
}

using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Testing;

namespace GpuDev.Server.Tests.Identity;

/// <summary>Admins manage users over the API (a disabled user is refused at once, their reservations listed and left
/// running); users manage their own SSH keys, and a change reaches their active reservations.</summary>
public sealed class UsersAndKeysApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Disable_UserRefusedAtOnce_LiveReservationsListedAndKeptRunning_EnableRestores()
    {
        await using var server = new ServerFixture();
        var admin = await server.ClientForAsync("root", admin: true);
        var bob = await server.ClientForAsync("bob");
        var reservation = (await (await bob.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest, Ct)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, Ct))!;
        await ServerFixture.WaitForStatusAsync(bob, reservation.Id, "active");
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync(Routes.Me, Ct)).StatusCode); // its token is remembered now

        var disabled = await admin.PostAsync(Routes.AdminUser("bob") + "/disable", null, Ct);

        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        var change = (await disabled.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.UserChangeDto, Ct))!;
        Assert.NotNull(change.User.DisabledAt);
        Assert.Equal(reservation.Id, Assert.Single(change.LiveReservations).Id);
        var refused = await bob.GetAsync(Routes.Me, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("The account 'bob' was disabled by an admin", await TokensApiTests.DetailAsync(refused), StringComparison.Ordinal);
        Assert.Equal("active", (await admin.GetFromJsonAsync(Routes.Reservation(reservation.Id), GpuDevJsonContext.Default.ReservationDto, Ct))!.Status);

        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync(Routes.AdminUser("bob") + "/enable", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await bob.GetAsync(Routes.Me, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsync(Routes.AdminUser("root") + "/disable", null, Ct)).StatusCode);
    }

    [Fact]
    public async Task AddUser_TokenWorks_DuplicateAndBadNamesRefused_SetAdmin()
    {
        await using var server = new ServerFixture();
        var admin = await server.ClientForAsync("root", admin: true);

        var created = await admin.PostAsJsonAsync(Routes.AdminUsers, new CreateUserRequest("carol", false, "carol-gh"), GpuDevJsonContext.Default.CreateUserRequest, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var carol = (await created.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.CreatedUserDto, Ct))!;
        var client = server.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", carol.Token);
        Assert.Equal(("carol", "carol-gh", false), ((await client.GetFromJsonAsync(Routes.Me, GpuDevJsonContext.Default.MeDto, Ct))!) is var me ? (me.Name, me.GithubUser, me.Admin) : default);

        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsJsonAsync(Routes.AdminUsers, new CreateUserRequest("carol", false, null), GpuDevJsonContext.Default.CreateUserRequest, Ct)).StatusCode);
        var bad = await admin.PostAsJsonAsync(Routes.AdminUsers, new CreateUserRequest("Bad Name", false, null), GpuDevJsonContext.Default.CreateUserRequest, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("user names are 1-32 characters", await TokensApiTests.DetailAsync(bad), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync(Routes.AdminUser("carol") + "/admin", new SetAdminRequest(true), GpuDevJsonContext.Default.SetAdminRequest, Ct)).StatusCode);
        Assert.True((await client.GetFromJsonAsync(Routes.Me, GpuDevJsonContext.Default.MeDto, Ct))!.Admin);
        var users = (await admin.GetFromJsonAsync(Routes.AdminUsers, GpuDevJsonContext.Default.ListUserDto, Ct))!;
        Assert.Equal(["carol", "root"], users.Select(u => u.Name));
    }

    [Fact]
    public async Task AddAndRemoveKey_ReachesActiveReservations_BadKeyRefused()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var reservation = (await (await alice.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest, Ct)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, Ct))!;
        await ServerFixture.WaitForStatusAsync(alice, reservation.Id, "active");

        var added = await alice.PostAsJsonAsync(Routes.MeKeys, new AddSshKeyRequest(TestKeys.SecondEd25519), GpuDevJsonContext.Default.AddSshKeyRequest, Ct);

        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        var change = (await added.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.SshKeyChangeDto, Ct))!;
        Assert.Equal([reservation.Id], change.UpdatedReservations);
        Assert.Equal([TestKeys.Ed25519, TestKeys.SecondEd25519], server.Provider.Environments[reservation.Id].AuthorizedKeys.Order(StringComparer.Ordinal));
        var keys = (await alice.GetFromJsonAsync(Routes.MeKeys, GpuDevJsonContext.Default.ListSshKeyDto, Ct))!;
        Assert.Contains(keys, k => k is { Fingerprint: TestKeys.Ed25519Fingerprint, Type: "ssh-ed25519", Comment: "test@gpu-dev" });

        var removed = await alice.DeleteAsync(Routes.MeKeys + "?fingerprint=" + Uri.EscapeDataString(TestKeys.Ed25519Fingerprint), Ct);
        Assert.Equal(HttpStatusCode.OK, removed.StatusCode);
        Assert.Equal([TestKeys.SecondEd25519], server.Provider.Environments[reservation.Id].AuthorizedKeys);

        var bad = await alice.PostAsJsonAsync(Routes.MeKeys, new AddSshKeyRequest("command=\"rm -rf /\" " + TestKeys.Ed25519), GpuDevJsonContext.Default.AddSshKeyRequest, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("not an OpenSSH public key line", await TokensApiTests.DetailAsync(bad), StringComparison.Ordinal);
        Assert.Single((await alice.GetFromJsonAsync(Routes.MeKeys, GpuDevJsonContext.Default.ListSshKeyDto, Ct))!);
        Assert.Equal(HttpStatusCode.NotFound, (await alice.DeleteAsync(Routes.MeKeys + "?fingerprint=SHA256:nope", Ct)).StatusCode);
    }
}

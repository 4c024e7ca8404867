using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Security;

/// <summary>Every API endpoint × every kind of caller → the expected status. A new endpoint without rows here fails
/// <see cref="Matrix_CoversEveryEndpoint"/>.</summary>
public sealed class AuthorizationMatrixTests
{
    public enum Caller
    {
        Anonymous,
        BadToken,
        Owner,
        AddedUser,
        OtherUser,
        Admin,
    }

    /// <summary>Route pattern → expected status per caller (in <see cref="Caller"/> order).</summary>
    private static readonly Dictionary<string, HttpStatusCode[]> s_matrix = new()
    {
        ["GET /healthz"] = [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK],
        ["GET /readyz"] = [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK],

        // Prometheus scrapes without a token; Metrics:AllowFrom can restrict it to networks (MetricsApiTests).
        ["GET /metrics"] = [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK],
        ["GET /api/v1/admin/audit"] = [.. Authenticated(HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.OK)],
        ["GET /openapi/{documentName}.json"] = [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK],
        ["GET /api/v1/me"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)],

        // Each caller sets their own GitHub login only (there is no user in the route).
        ["PUT /api/v1/me/github-user"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)],
        ["GET /api/v1/gpu-types"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)],
        ["GET /api/v1/availability"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)],
        ["GET /api/v1/status"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)],

        // Everyone sees the fleet's future; others' reservations come without name and reason (TimelineApiTests).
        ["GET /api/v1/timeline"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)],

        // Asked for the owner's usage (?user=owner): theirs and an admin's to see, nobody else's.
        ["GET /api/v1/usage"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.OK)],
        ["POST /api/v1/reservations/"] = [.. Authenticated(HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created)],
        ["GET /api/v1/reservations/"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)],
        ["GET /api/v1/reservations/{id}"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.OK)],
        ["PATCH /api/v1/reservations/{id}"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.NotFound, HttpStatusCode.OK)],
        ["DELETE /api/v1/reservations/{id}"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.Forbidden, HttpStatusCode.NotFound, HttpStatusCode.OK)],
        ["GET /api/v1/disks/"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)],
        ["POST /api/v1/disks/"] = [.. Authenticated(HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created)],

        // Disk routes act on the caller's own disks by name: another user's (even an admin's) lookup finds none.
        ["DELETE /api/v1/disks/{name}"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound)],
        ["POST /api/v1/disks/{name}/rename"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound)],
        ["GET /api/v1/disks/{name}/content"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound)],
        ["GET /api/v1/disks/{name}/snapshots"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound)],

        // The owner's disk has no snapshot yet and is not deleted: restore and undelete answer 404 and 409 for the owner.
        ["POST /api/v1/disks/{name}/restore"] = [.. Authenticated(HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound)],
        ["POST /api/v1/disks/{name}/undelete"] = [.. Authenticated(HttpStatusCode.Conflict, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound)],

        // Build contexts are content-addressed and write-only: any signed-in user may upload one.
        ["PUT /api/v1/build-contexts/{sha256}"] = [.. Authenticated(HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created)],

        // Tokens and keys are each caller's own (no user in the route). The token revoked is the owner's: nobody else,
        // not even an admin, finds it among their tokens.
        ["GET /api/v1/tokens"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)],
        ["POST /api/v1/tokens"] = [.. Authenticated(HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created)],
        ["DELETE /api/v1/tokens/{id}"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.NotFound, HttpStatusCode.NotFound)],
        ["POST /api/v1/me/logout"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)],
        ["GET /api/v1/me/keys"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)],
        ["POST /api/v1/me/keys"] = [.. Authenticated(HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created)],
        ["DELETE /api/v1/me/keys"] = [.. Authenticated(HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK)],

        // Sign-in needs no token (this fixture configures no OpenID provider: the exchange answers 422 to everyone).
        ["GET /api/v1/auth"] = [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK],
        ["POST /api/v1/auth/oidc"] = [.. Enumerable.Repeat(HttpStatusCode.UnprocessableEntity, 6)],
        ["POST /api/v1/auth/aws"] = [.. Enumerable.Repeat(HttpStatusCode.UnprocessableEntity, 6)],

        // The dashboard (UiTests): the page is for any signed-in user (a bearer token works too); without a session it
        // redirects to the sign-in form, which these clients follow (so 200). Posting a wrong token gets the form again
        // with 401; signing out (dropping the cookie) and the embedded assets need no session.
        ["GET /ui"] = [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK],
        ["GET /ui/signin"] = [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK],
        ["POST /ui/signin"] = [.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 6)],
        // The OpenID sign-in (OidcWebSignInTests) is anyone's to start; with no provider configured here, 404 for all.
        ["GET /ui/signin/oidc"] = [.. Enumerable.Repeat(HttpStatusCode.NotFound, 6)],
        ["GET /ui/signin/oidc/callback"] = [.. Enumerable.Repeat(HttpStatusCode.NotFound, 6)],
        ["POST /ui/signout"] = [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK],
        ["GET /ui/assets/{*file}"] = [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK],

        // Users are managed by admins only; the user acted on is "other".
        ["GET /api/v1/admin/users/"] = [.. Authenticated(HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.OK)],
        ["POST /api/v1/admin/users/"] = [.. Authenticated(HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Created)],
        ["POST /api/v1/admin/users/{name}/disable"] = [.. Authenticated(HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.OK)],
        ["POST /api/v1/admin/users/{name}/enable"] = [.. Authenticated(HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.OK)],
        ["PUT /api/v1/admin/users/{name}/admin"] = [.. Authenticated(HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.Forbidden, HttpStatusCode.OK)],
    };

    private static readonly byte[] s_context = [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];

    private static IEnumerable<HttpStatusCode> Authenticated(HttpStatusCode owner, HttpStatusCode added, HttpStatusCode other, HttpStatusCode admin) =>
        [HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, owner, added, other, admin];

    public static TheoryData<string, Caller> Cells()
    {
        var data = new TheoryData<string, Caller>();
        foreach (var endpoint in s_matrix.Keys)
        {
            foreach (var caller in Enum.GetValues<Caller>())
            {
                data.Add(endpoint, caller);
            }
        }

        return data;
    }

    [Fact]
    public async Task Matrix_CoversEveryEndpoint()
    {
        await using var server = new ServerFixture();
        _ = server.CreateClient();

        var endpoints = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
                .Select(m => $"{m} {e.RoutePattern.RawText}"))
            .ToHashSet();

        Assert.Empty(endpoints.Except(s_matrix.Keys));
        Assert.Empty(s_matrix.Keys.Except(endpoints));
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public async Task Endpoint_Caller_GetsExpectedStatus(string endpoint, Caller caller)
    {
        await using var server = new ServerFixture();
        var owner = await server.ClientForAsync("owner");
        var clients = new Dictionary<Caller, HttpClient>
        {
            [Caller.Anonymous] = server.CreateClient(),
            [Caller.BadToken] = server.CreateClient(),
            [Caller.Owner] = owner,
            [Caller.AddedUser] = await server.ClientForAsync("guest", github: "guest-gh"),
            [Caller.OtherUser] = await server.ClientForAsync("other"),
            [Caller.Admin] = await server.ClientForAsync("admin", admin: true),
        };
        clients[Caller.BadToken].DefaultRequestHeaders.Authorization = new("Bearer", "gdt_forged");
        var created = (await (await owner.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto))!;
        await ServerFixture.WaitForStatusAsync(owner, created.Id, "active");
        server.KeySource.Keys["guest-gh"] = [GpuDev.Testing.TestKeys.Ed25519];
        (await owner.PatchAsync(Routes.Reservation(created.Id), JsonContent.Create(new EditReservationRequest { AddUsers = ["guest-gh"] }, GpuDevJsonContext.Default.EditReservationRequest))).EnsureSuccessStatusCode();
        await owner.PostAsJsonAsync(Routes.Disks, new CreateDiskRequest("d1"), GpuDevJsonContext.Default.CreateDiskRequest);

        var ownerToken = (await owner.GetFromJsonAsync(Routes.Tokens, GpuDevJsonContext.Default.ListTokenDto))!.Single().Id;

        var (method, route) = (endpoint.Split(' ')[0], endpoint.Split(' ')[1]);
        var path = route.Replace("{id}", route.StartsWith(Routes.Tokens, StringComparison.Ordinal) ? ownerToken : created.Id, StringComparison.Ordinal)
            .Replace("{documentName}", "v1", StringComparison.Ordinal)
            .Replace("{*file}", "app.js", StringComparison.Ordinal)
            .Replace("{name}", route.StartsWith(Routes.AdminUsers, StringComparison.Ordinal) ? "other" : "d1", StringComparison.Ordinal)
            .Replace("{sha256}", Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(s_context)), StringComparison.Ordinal);
        if (route == Routes.Usage)
        {
            path += "?user=owner";
        }

        if (method == "DELETE" && route == Routes.MeKeys)
        {
            path += "?fingerprint=" + Uri.EscapeDataString(GpuDev.Testing.TestKeys.Ed25519Fingerprint);
        }

        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Content = (method, route) switch
        {
            ("POST", "/api/v1/disks/") => JsonContent.Create(new CreateDiskRequest("d2"), GpuDevJsonContext.Default.CreateDiskRequest),
            ("POST", "/api/v1/disks/{name}/rename") => JsonContent.Create(new RenameDiskRequest("d3"), GpuDevJsonContext.Default.RenameDiskRequest),
            ("POST", "/api/v1/disks/{name}/restore") => JsonContent.Create(new RestoreDiskRequest(null), GpuDevJsonContext.Default.RestoreDiskRequest),
            ("POST", "/api/v1/disks/{name}/undelete") => null,
            ("POST", Routes.Tokens) => JsonContent.Create(new CreateTokenRequest("ci", 24), GpuDevJsonContext.Default.CreateTokenRequest),
            ("POST", Routes.Logout) => null,
            ("POST", "/ui/signin") => new FormUrlEncodedContent([new KeyValuePair<string, string>("token", "gdt_wrong")]),
            ("POST", "/ui/signout") => null,
            ("POST", Routes.AuthOidc) => JsonContent.Create(new OidcLoginRequest("a.b.c", null), GpuDevJsonContext.Default.OidcLoginRequest),
            ("POST", Routes.AuthAws) => JsonContent.Create(new AwsLoginRequest("https://sts.amazonaws.com/", "Action=GetCallerIdentity&Version=2011-06-15", new() { ["Authorization"] = "x" }, null),
                GpuDevJsonContext.Default.AwsLoginRequest),
            ("POST", Routes.MeKeys) => JsonContent.Create(new AddSshKeyRequest(GpuDev.Testing.TestKeys.SecondEd25519), GpuDevJsonContext.Default.AddSshKeyRequest),
            ("POST", "/api/v1/admin/users/") => JsonContent.Create(new CreateUserRequest("newbie", false, null), GpuDevJsonContext.Default.CreateUserRequest),
            ("POST", "/api/v1/admin/users/{name}/disable" or "/api/v1/admin/users/{name}/enable") => null,
            ("PUT", "/api/v1/admin/users/{name}/admin") => JsonContent.Create(new SetAdminRequest(true), GpuDevJsonContext.Default.SetAdminRequest),
            ("POST", _) => JsonContent.Create(new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 }, GpuDevJsonContext.Default.CreateReservationRequest),
            ("PUT", "/api/v1/me/github-user") => JsonContent.Create(new SetGithubUserRequest("guest-gh"), GpuDevJsonContext.Default.SetGithubUserRequest),
            ("PUT", _) => new ByteArrayContent(s_context),
            ("PATCH", _) => JsonContent.Create(new EditReservationRequest { ExtendHours = 1 }, GpuDevJsonContext.Default.EditReservationRequest),
            _ => null,
        };
        var response = await clients[caller].SendAsync(request);

        Assert.Equal(s_matrix[endpoint][(int)caller], response.StatusCode);
        if ((int)response.StatusCode >= 400 && !route.StartsWith("/ui", StringComparison.Ordinal))
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        if (method is "PATCH" or "DELETE" && route.Contains("reservations", StringComparison.Ordinal) && caller is not (Caller.Owner or Caller.Admin))
        {
            var after = await owner.GetFromJsonAsync(Routes.Reservation(created.Id), GpuDevJsonContext.Default.ReservationDto);
            Assert.Equal("active", after!.Status);
            Assert.Equal(0, after.ExtendedHours);
        }
    }
}

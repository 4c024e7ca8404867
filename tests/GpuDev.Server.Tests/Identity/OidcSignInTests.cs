using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using GpuDev.Contracts;
using GpuDev.Core.Audit;
using GpuDev.Testing.Oidc;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Identity;

/// <summary>Signing in with the site's OpenID provider (a real one: oidc-provider, see <see cref="OidcTestProvider"/>):
/// an ID token from its device flow becomes a gpu-dev session token, the first login creates the user where allowed,
/// and every forged or misused token is refused with its reason, creates nothing and is audited.</summary>
public sealed class OidcSignInTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AuthInfo_Anonymous_NamesTheProvider_OrNoneWhenNotConfigured()
    {
        await using var oidc = await StartProviderAsync();
        await using var server = Server(oidc);
        var info = await server.CreateClient().GetFromJsonAsync(Routes.Auth, GpuDevJsonContext.Default.AuthInfoDto, Ct);
        Assert.Equal(new OidcInfoDto(oidc.Issuer, OidcTestProvider.DefaultClientId, "openid email profile groups"), info!.Oidc);

        await using var plain = new ServerFixture();
        Assert.Null((await plain.CreateClient().GetFromJsonAsync(Routes.Auth, GpuDevJsonContext.Default.AuthInfoDto, Ct))!.Oidc);
        var refused = await plain.CreateClient().PostAsJsonAsync(Routes.AuthOidc, new OidcLoginRequest("x.y.z", null), GpuDevJsonContext.Default.OidcLoginRequest, Ct);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
    }

    [Fact]
    public async Task FirstLogin_CreatesTheUser_TokenWorks_SecondLoginSameUser_Audited()
    {
        await using var oidc = await StartProviderAsync();
        await using var server = Server(oidc, ("Auth:AdminGroups:0", "gpu-admins"));

        var first = await SignInAsync(server, await IdTokenAsync(oidc, "u-bob"));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var login = (await first.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.LoginResultDto, Ct))!;
        Assert.Equal(("bob", true, true), (login.User, login.Admin, login.Created));
        Assert.Equal(server.Time.GetUtcNow().AddDays(7), login.ExpiresAt, TimeSpan.FromSeconds(1));

        var client = server.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", login.Token);
        var me = await client.GetFromJsonAsync(Routes.Me, GpuDevJsonContext.Default.MeDto, Ct);
        Assert.Equal(("bob", true), (me!.Name, me.Admin));
        var tokens = await client.GetFromJsonAsync(Routes.Tokens, GpuDevJsonContext.Default.ListTokenDto, Ct);
        Assert.Equal("session", Assert.Single(tokens!).Kind);

        // The provider's ID tokens carry no jti: two logins of one account within a second can be the very same token,
        // which this server takes for a replay. A real second login comes later.
        await NextSecondAsync();
        var again = (await (await SignInAsync(server, await IdTokenAsync(oidc, "u-bob"))).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.LoginResultDto, Ct))!;
        Assert.Equal(("bob", false), (again.User, again.Created));
        var audit = await server.Services.GetRequiredService<IAuditLog>().QueryAsync(new AuditQuery(Action: "POST /api/v1/auth/oidc"), Ct);
        Assert.Equal(2, audit.Count(e => e is { Actor: "bob", Outcome: 200, Target: "bob" }));
    }

    public static TheoryData<string, string> Forgeries => new()
    {
        { "tampered", "its signature does not verify" },
        { "alg-none", "it is not signed" },
        { "unknown-kid", "signed with a key the provider does not publish" },
        { "own-key", "signed with a key the provider does not publish" },
        { "replay", "exchanged before" },
        { "garbage", "it is not a JWT" },
    };

    [Theory]
    [MemberData(nameof(Forgeries))]
    public async Task ForgedOrReplayedToken_401WithTheReason_NothingCreated_Audited(string forgery, string reason)
    {
        await using var oidc = await StartProviderAsync();
        await using var server = Server(oidc);
        var real = await IdTokenAsync(oidc, "u-alice");
        if (forgery == "replay")
        {
            Assert.Equal(HttpStatusCode.OK, (await SignInAsync(server, real)).StatusCode);
        }

        var response = await SignInAsync(server, Forge(real, forgery));

        await AssertRefusedAsync(server, response, HttpStatusCode.Unauthorized, reason, usersExpected: forgery == "replay" ? 1 : 0);
    }

    [Fact]
    public async Task ForgedTokensOverTheLimit_429WithRetryAfter_AuditedOnce_ARealTokenSignsInAfterTheWindow()
    {
        await using var oidc = await StartProviderAsync();
        await using var server = Server(oidc, ("Server:AuthFailureLimit", "10"), ("Server:AuthFailureWindow", "00:00:03"));
        var real = await IdTokenAsync(oidc, "u-alice");
        var forged = Forge(real, "tampered");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            statuses.Add((await SignInAsync(server, forged)).StatusCode);
        }

        var throttled = await SignInAsync(server, forged);
        var problem = (await throttled.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto, Ct))!;
        // A sign-in is refused before its credentials are checked (checking an AWS one costs a call to STS), so a real
        // token waits for the window's end too.
        var goodWhileThrottled = await SignInAsync(server, real);
        server.Time.Advance(TimeSpan.FromSeconds(3));
        var good = await SignInAsync(server, real);
        var audit = await server.AuditAsync(new AuditQuery(Action: "POST /api/v1/auth/oidc"),
            entries => entries.Count(e => e.Outcome == 401) >= 10 && entries.Any(e => e.Outcome == 429) && entries.Any(e => e.Outcome == 200));

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 10), HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.Equal(ProblemCodes.TooManyRequests, problem.Code);
        Assert.Contains("Too many failed sign-ins", problem.Detail, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(3), throttled.Headers.RetryAfter?.Delta);
        Assert.Equal(HttpStatusCode.TooManyRequests, goodWhileThrottled.StatusCode);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.Equal((10, 1), (audit.Count(e => e.Outcome == 401), audit.Count(e => e.Outcome == 429)));
    }

    [Fact]
    public async Task TokenForAnotherAudience_Refused()
    {
        await using var oidc = await StartProviderAsync();
        await using var server = Server(oidc, ("Auth:Oidc:ClientId", "another-client"));

        var response = await SignInAsync(server, await IdTokenAsync(oidc, "u-alice"));

        await AssertRefusedAsync(server, response, HttpStatusCode.Unauthorized, "its audience 'gpu-dev-cli' is not gpu-dev's ('another-client')", usersExpected: 0);
    }

    [Fact]
    public async Task TokenOfAnotherIssuer_Refused()
    {
        // The same provider under another name: its tokens say 127.0.0.1, this server trusts "localhost".
        await using var oidc = await StartProviderAsync();
        await using var server = Server(oidc, ("Auth:Oidc:Authority", oidc.Issuer.Replace("127.0.0.1", "localhost", StringComparison.Ordinal)));

        var response = await SignInAsync(server, await IdTokenAsync(oidc, "u-alice"));

        await AssertRefusedAsync(server, response, HttpStatusCode.Unauthorized, $"its issuer '{oidc.Issuer}' is not this site's provider", usersExpected: 0);
    }

    [Fact]
    public async Task ExpiredAndNotYetValidTokens_RefusedByThisServersClock()
    {
        await using var oidc = await StartProviderAsync();
        await using var server = Server(oidc);
        var token = await IdTokenAsync(oidc, "u-alice");

        server.Time.SetUtcNow(DateTimeOffset.UtcNow.AddHours(3));
        await AssertRefusedAsync(server, await SignInAsync(server, token), HttpStatusCode.Unauthorized, "it expired at", usersExpected: 0);

        await using var early = new ServerFixture(Settings(oidc));  // its clock stays at 2026-11-28, before the token was issued
        await AssertRefusedAsync(early, await SignInAsync(early, await IdTokenAsync(oidc, "u-alice")), HttpStatusCode.Unauthorized, "it is not valid yet", usersExpected: 0);
    }

    [Fact]
    public async Task ProviderRotatesItsKeys_NextLoginStillWorks()
    {
        await using var oidc = await StartProviderAsync();
        await using var server = Server(oidc);
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(server, await IdTokenAsync(oidc, "u-alice"))).StatusCode);

        await oidc.RotateKeysAsync(Ct);
        var response = await SignInAsync(server, await IdTokenAsync(oidc, "u-alice"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AccountOutsideTheAllowedGroups_403_NothingCreated()
    {
        await using var oidc = await StartProviderAsync();
        await using var server = Server(oidc, ("Auth:AllowedGroups:0", "gpu-admins"));

        await AssertRefusedAsync(server, await SignInAsync(server, await IdTokenAsync(oidc, "u-alice")), HttpStatusCode.Forbidden,
            "needs membership of one of the groups gpu-admins", usersExpected: 0);
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(server, await IdTokenAsync(oidc, "u-bob"))).StatusCode);
    }

    [Fact]
    public async Task DisabledUser_CannotSignIn()
    {
        await using var oidc = await StartProviderAsync();
        await using var server = Server(oidc);
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(server, await IdTokenAsync(oidc, "u-alice"))).StatusCode);
        var admin = await server.ClientForAsync("root", admin: true);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync(Routes.AdminUser("alice") + "/disable", null, Ct)).StatusCode);
        await NextSecondAsync(); // else the provider may hand out the very same token again (see above)

        var response = await SignInAsync(server, await IdTokenAsync(oidc, "u-alice"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("disabled", (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto, Ct))!.Detail, StringComparison.Ordinal);
    }

    private static async Task AssertRefusedAsync(ServerFixture server, HttpResponseMessage response, HttpStatusCode status, string reason, int usersExpected)
    {
        Assert.Equal(status, response.StatusCode);
        var problem = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto, Ct))!;
        Assert.Contains(reason, problem.Detail, StringComparison.Ordinal);
        var identity = server.Services.GetRequiredService<GpuDev.Core.Identity.IIdentityStore>();
        Assert.Equal(usersExpected, (await identity.ListUsersAsync(Ct)).Count(u => u.Name is "alice" or "bob"));
        var audit = await server.Services.GetRequiredService<IAuditLog>().QueryAsync(new AuditQuery(Action: "POST /api/v1/auth/oidc"), Ct);
        Assert.Contains(audit, e => e.Outcome == (int)status && e.Actor == "anonymous" && e.Detail!.Contains(reason, StringComparison.Ordinal));
    }

    /// <summary>A token made from a real one: its signature altered, its header claiming no algorithm or an unknown key,
    /// signed with a key of the test's own, or not a JWT at all.</summary>
    private static string Forge(string real, string how)
    {
        var parts = real.Split('.');
        string Header(string json) => Base64Url(Encoding.UTF8.GetBytes(json));
        using var rsa = RSA.Create(2048);
        string SignOwn(string header)
        {
            var input = header + "." + parts[1];
            return input + "." + Base64Url(rsa.SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        }

        return how switch
        {
            "tampered" => parts[0] + "." + parts[1] + "." + (parts[2][0] == 'A' ? 'B' : 'A') + parts[2][1..],
            "alg-none" => Header("""{"alg":"none","typ":"JWT"}""") + "." + parts[1] + ".",
            "unknown-kid" => Header("""{"alg":"RS256","typ":"JWT","kid":"no-such-key"}""") + "." + parts[1] + "." + parts[2],
            "own-key" => SignOwn(Header("""{"alg":"RS256","typ":"JWT","kid":"attacker"}""")),
            "garbage" => "not-a-token",
            _ => real,
        };
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static Task<HttpResponseMessage> SignInAsync(ServerFixture server, string idToken) =>
        server.CreateClient().PostAsJsonAsync(Routes.AuthOidc, new OidcLoginRequest(idToken, "test"), GpuDevJsonContext.Default.OidcLoginRequest, Ct);

    private static Dictionary<string, string> Settings(OidcTestProvider oidc, params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string>
        {
            ["Auth:Oidc:Authority"] = oidc.Issuer,
            ["Auth:Oidc:RequireHttps"] = "false",
            ["Auth:Oidc:Scopes"] = "openid email profile groups",
        };
        foreach (var (key, value) in more)
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>A server trusting <paramref name="oidc"/>, its clock at the real time (the provider's tokens carry it).</summary>
    private static ServerFixture Server(OidcTestProvider oidc, params (string Key, string Value)[] more)
    {
        var server = new ServerFixture(Settings(oidc, more));
        server.Time.SetUtcNow(DateTimeOffset.UtcNow);
        return server;
    }

    private static async Task<OidcTestProvider> StartProviderAsync()
    {
        return await OidcTestProvider.StartAsync(cancellationToken: Ct);
    }

    internal static async Task NextSecondAsync()
    {
        var second = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        while (DateTimeOffset.UtcNow.ToUnixTimeSeconds() == second)
        {
            await Task.Delay(20);
        }
    }

    private static async Task<string> IdTokenAsync(OidcTestProvider oidc, string account)
    {
        var device = await oidc.StartDeviceAuthorizationAsync(cancellationToken: Ct);
        await oidc.CompleteDeviceLoginAsync(device.UserCode, account, cancellationToken: Ct);
        var token = await oidc.PollTokenAsync(device.DeviceCode, Ct);
        return token.IdToken ?? throw new InvalidOperationException($"no id_token: {token.Error} {token.ErrorDescription}");
    }
}

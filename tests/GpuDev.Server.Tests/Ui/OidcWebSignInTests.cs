using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using GpuDev.Contracts;
using GpuDev.Core.Audit;
using GpuDev.Core.Identity;
using GpuDev.Server.Tests.Identity;
using GpuDev.Testing.Oidc;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Ui;

/// <summary>The dashboard's sign-in with the site's OpenID provider (a real one, oidc-provider, with a public web client):
/// the authorization code flow with PKCE, state and nonce, ending in the session cookie for the same gpu-dev user the
/// CLI's login gives; every broken step refused with the reason on the sign-in page, nothing signed in, and audited.</summary>
public sealed class OidcWebSignInTests
{
    private const string Callback = "http://localhost/ui/signin/oidc/callback"; // the test server's own address

    private static readonly WebApplicationFactoryClientOptions s_browser = new() { AllowAutoRedirect = false, HandleCookies = false };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SignIn_WithTheProvider_SetsTheSessionCookie_SameUserAsTheCli_Audited()
    {
        await using var oidc = await OidcTestProvider.StartAsync(webRedirectUri: Callback, cancellationToken: Ct);
        await using var server = Server(oidc);
        var cli = await CliLoginAsync(server, oidc, "u-alice");
        var browser = server.CreateClient(s_browser);

        var (start, flowCookie, finish) = await SignInThroughTheProviderAsync(browser, oidc);
        var authorize = QueryHelpers.ParseQuery(start.Query);
        var session = Cookie(finish, "gpu-dev-session");
        var page = await GetWithCookieAsync(browser, "/ui", "gpu-dev-session=" + session!.Split(';')[0].Split('=', 2)[1]);

        // The request to the provider: the web client, back to this server, PKCE S256, state and nonce.
        Assert.Equal(("code", OidcTestProvider.WebClientId, Callback, "S256"),
            (authorize["response_type"].ToString(), authorize["client_id"].ToString(), authorize["redirect_uri"].ToString(), authorize["code_challenge_method"].ToString()));
        Assert.All(new[] { "state", "nonce", "code_challenge" }, p => Assert.True(authorize[p].ToString().Length >= 43, $"{p} is not a fresh random value"));
        Assert.Contains("HttpOnly", flowCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("SameSite=Lax", flowCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/ui/signin/oidc", flowCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(authorize["code_challenge"].ToString(), flowCookie, StringComparison.Ordinal); // the cookie keeps the verifier, the URL only its hash

        Assert.Equal(HttpStatusCode.Redirect, finish.StatusCode);
        Assert.Equal("/ui", finish.Headers.Location?.OriginalString);
        Assert.Contains("httponly", session, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", session, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Signed in as <strong>alice</strong>", await page.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var identity = server.Services.GetRequiredService<IIdentityStore>();
        var user = Assert.Single(await identity.ListUsersAsync(Ct));
        Assert.Equal((cli.User, "alice"), (user.Name, user.Name));
        var tokens = await identity.ListTokensAsync(user.Id, Ct);
        Assert.Contains(tokens, t => t is { Name: "web sign-in", Kind: TokenKind.Session });
        var audit = await server.AuditAsync(new AuditQuery(Action: "GET /ui/signin/oidc/callback"), entries => entries.Count > 0);
        Assert.Contains(audit, e => e is { Actor: "alice", Outcome: 302, Target: "alice" });
    }

    [Fact]
    public async Task SignOut_RevokesTheWebSession_NotAPastedCliToken()
    {
        await using var oidc = await OidcTestProvider.StartAsync(webRedirectUri: Callback, cancellationToken: Ct);
        await using var server = Server(oidc);
        var cli = await CliLoginAsync(server, oidc, "u-alice");
        var browser = server.CreateClient(s_browser);
        var (_, _, finish) = await SignInThroughTheProviderAsync(browser, oidc);
        var web = Cookie(finish, "gpu-dev-session")!.Split(';')[0];

        var signOutWeb = await SignOutAsync(browser, web);
        var signOutCli = await SignOutAsync(browser, "gpu-dev-session=" + cli.Token);
        var webAfter = await GetWithCookieAsync(browser, Routes.Me, web);
        var cliAfter = await GetWithCookieAsync(browser, Routes.Me, "gpu-dev-session=" + cli.Token);

        Assert.Equal(HttpStatusCode.Redirect, signOutWeb.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, signOutCli.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, webAfter.StatusCode);
        Assert.Equal(HttpStatusCode.OK, cliAfter.StatusCode);
        var audit = await server.AuditAsync(new AuditQuery(Action: "POST /ui/signout"), entries => entries.Count >= 2);
        Assert.Equal(2, audit.Count(e => e is { Actor: "alice", Outcome: 302 }));
    }

    [Fact]
    public async Task SignOut_AtTheProviderConfigured_GoesOnToItsEndSessionEndpoint_WhichAcceptsIt_OnlyForAWebSession()
    {
        await using var oidc = await OidcTestProvider.StartAsync(webRedirectUri: Callback, cancellationToken: Ct);
        await using var server = Server(oidc, signOutAtProvider: true);
        var cli = await CliLoginAsync(server, oidc, "u-alice");
        var browser = server.CreateClient(s_browser);
        var (_, _, finish) = await SignInThroughTheProviderAsync(browser, oidc);
        var web = Cookie(finish, "gpu-dev-session")!.Split(';')[0];

        var signOutWeb = await SignOutAsync(browser, web);
        var page = await signOutWeb.Content.ReadAsStringAsync(Ct);
        var signOutCli = await SignOutAsync(browser, "gpu-dev-session=" + cli.Token);
        var webAfter = await GetWithCookieAsync(browser, Routes.Me, web);
        var refresh = Regex.Match(page, "<meta http-equiv=\"refresh\" content=\"0;url=([^\"]+)\">");
        var endSession = new Uri(WebUtility.HtmlDecode(refresh.Groups[1].Value));
        var query = QueryHelpers.ParseQuery(endSession.Query);
        // The real provider takes it (a wrong client or an unregistered address to come back to is a 400 there): with no
        // session of its own in this client, it goes straight on to confirm the sign-out.
        using var atProvider = new HttpClient();
        using var providerAnswer = await atProvider.GetAsync(endSession, Ct);
        var providerPage = await providerAnswer.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, signOutWeb.StatusCode);
        Assert.True(refresh.Success, page);
        Assert.Equal($"{oidc.Issuer}/session/end", endSession.GetLeftPart(UriPartial.Path));
        Assert.Equal(OidcTestProvider.WebClientId, query["client_id"]);
        Assert.Equal("http://localhost/ui/signin", query["post_logout_redirect_uri"]);
        Assert.Equal(HttpStatusCode.OK, providerAnswer.StatusCode);
        Assert.Contains($"{oidc.Issuer}/session/end/confirm", providerPage, StringComparison.Ordinal);
        Assert.Contains("gpu-dev-session=;", string.Join("\n", signOutWeb.Headers.GetValues("Set-Cookie")), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, webAfter.StatusCode);
        // A pasted token's sign-out stays at the dashboard: that session did not come from the provider.
        Assert.Equal(HttpStatusCode.Redirect, signOutCli.StatusCode);
        Assert.Equal("/ui/signin", signOutCli.Headers.Location?.OriginalString);
    }

    [Theory]
    [InlineData("denied", HttpStatusCode.Forbidden, "did not sign you in")]
    [InlineData("wrong-state", HttpStatusCode.BadRequest, "did not start in this browser")]
    [InlineData("no-cookie", HttpStatusCode.BadRequest, "did not start in this browser")]
    [InlineData("other-nonce", HttpStatusCode.Unauthorized, "nonce differs")]
    [InlineData("code-reused", HttpStatusCode.Unauthorized, "did not accept the sign-in")]
    public async Task Callback_BrokenStep_SignInPageWithTheReason_NoSessionNoUser_Audited(string broken, HttpStatusCode status, string reason)
    {
        await using var oidc = await OidcTestProvider.StartAsync(webRedirectUri: Callback, cancellationToken: Ct);
        await using var server = Server(oidc);
        var browser = server.CreateClient(s_browser);
        var (start, flowCookie) = await StartAsync(browser);
        var back = await oidc.AuthorizeAsync(start, "u-alice", approve: broken != "denied", cancellationToken: Ct);
        var cookie = flowCookie.Split(';')[0];
        if (broken == "code-reused")
        {
            // A first, good use of the code signs in; the same code again (a replayed callback URL) must not.
            Assert.Equal(HttpStatusCode.Redirect, (await CallbackAsync(browser, back, flowCookie)).StatusCode);
        }

        (back, cookie) = broken switch
        {
            "wrong-state" => (new Uri(back.ToString().Replace("state=", "state=x", StringComparison.Ordinal)), cookie),
            "no-cookie" => (back, ""),
            // The state and verifier of this flow, another flow's nonce: the ID token was not issued for this browser.
            "other-nonce" => (back, OtherNonce(cookie)),
            _ => (back, cookie),
        };
        var users = (await server.Services.GetRequiredService<IIdentityStore>().ListUsersAsync(Ct)).Count;

        var response = await GetWithCookieAsync(browser, back.PathAndQuery, cookie);

        Assert.Equal(status, response.StatusCode);
        Assert.Null(Cookie(response, "gpu-dev-session"));
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("role=\"alert\"", html, StringComparison.Ordinal);
        Assert.Contains(reason, html, StringComparison.Ordinal);
        Assert.Contains("id=\"signin-oidc\"", html, StringComparison.Ordinal); // the way to try again
        Assert.Equal(users, (await server.Services.GetRequiredService<IIdentityStore>().ListUsersAsync(Ct)).Count);
        var audit = await server.AuditAsync(new AuditQuery(Action: "GET /ui/signin/oidc/callback"), entries => entries.Any(e => e.Outcome == (int)status));
        Assert.Contains(audit, e => e.Outcome == (int)status && e.Detail!.Contains(reason, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("the-secret", HttpStatusCode.Redirect)]
    [InlineData("a-wrong-secret", HttpStatusCode.Unauthorized)]
    public async Task ConfidentialWebClient_RedeemsTheCodeWithItsSecret(string configured, HttpStatusCode expected)
    {
        await using var oidc = await OidcTestProvider.StartAsync(webRedirectUri: Callback, webClientSecret: "the-secret", cancellationToken: Ct);
        await using var server = Server(oidc, configured);
        var browser = server.CreateClient(s_browser);

        var (_, _, finish) = await SignInThroughTheProviderAsync(browser, oidc);

        Assert.Equal(expected, finish.StatusCode);
        Assert.Equal(expected == HttpStatusCode.Redirect, Cookie(finish, "gpu-dev-session") is not null);
        if (expected != HttpStatusCode.Redirect)
        {
            Assert.Contains("did not accept the sign-in", await finish.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task SignInPage_OffersTheProviderOnlyWhereConfigured()
    {
        await using var oidc = await OidcTestProvider.StartAsync(webRedirectUri: Callback, cancellationToken: Ct);
        await using var withProvider = Server(oidc);
        await using var plain = new ServerFixture();

        var offered = await withProvider.CreateClient(s_browser).GetStringAsync("/ui/signin", Ct);
        var notOffered = await plain.CreateClient(s_browser).GetStringAsync("/ui/signin", Ct);
        var start = await plain.CreateClient(s_browser).GetAsync("/ui/signin/oidc", Ct);

        Assert.Contains("<a class=\"button\" id=\"signin-oidc\" href=\"/ui/signin/oidc\">", offered, StringComparison.Ordinal);
        Assert.Contains("id=\"token\"", offered, StringComparison.Ordinal); // a pasted token still works
        Assert.DoesNotContain("signin-oidc", notOffered, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, start.StatusCode);
    }

    /// <summary>A server trusting <paramref name="oidc"/> with its web client (and <paramref name="secret"/> for it, if
    /// given; signing out there too with <paramref name="signOutAtProvider"/>), its clock at the real time.</summary>
    private static ServerFixture Server(OidcTestProvider oidc, string? secret = null, bool signOutAtProvider = false)
    {
        var settings = new Dictionary<string, string>
        {
            ["Auth:Oidc:Authority"] = oidc.Issuer,
            ["Auth:Oidc:RequireHttps"] = "false",
            ["Auth:Oidc:Scopes"] = "openid email profile groups",
            ["Auth:Oidc:WebClientId"] = OidcTestProvider.WebClientId,
        };
        if (secret is not null)
        {
            settings["Auth:Oidc:WebClientSecret"] = secret;
        }

        if (signOutAtProvider)
        {
            settings["Auth:Oidc:SignOutAtProvider"] = "true";
        }

        var server = new ServerFixture(settings);
        server.Time.SetUtcNow(DateTimeOffset.UtcNow);
        return server;
    }

    /// <summary>What <c>gpu-dev login</c> does (the device flow, then the exchange): the CLI's session.</summary>
    private static async Task<LoginResultDto> CliLoginAsync(ServerFixture server, OidcTestProvider oidc, string account)
    {
        var device = await oidc.StartDeviceAuthorizationAsync(cancellationToken: Ct);
        await oidc.CompleteDeviceLoginAsync(device.UserCode, account, cancellationToken: Ct);
        var idToken = (await oidc.PollTokenAsync(device.DeviceCode, Ct)).IdToken!;
        var response = await server.CreateClient().PostAsJsonAsync(Routes.AuthOidc, new OidcLoginRequest(idToken, "cli"), GpuDevJsonContext.Default.OidcLoginRequest, Ct);
        await OidcSignInTests.NextSecondAsync(); // the web sign-in's ID token must not be this one (same second, same claims)
        return (await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync(GpuDevJsonContext.Default.LoginResultDto, Ct))!;
    }

    /// <summary>The sign-in button: where the dashboard sends the browser, and the flow cookie it set.</summary>
    private static async Task<(Uri Authorize, string FlowCookie)> StartAsync(HttpClient browser)
    {
        var response = await browser.GetAsync("/ui/signin/oidc", Ct);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return (response.Headers.Location!, Cookie(response, "gpu-dev-oidc") ?? throw new InvalidOperationException("no flow cookie"));
    }

    /// <summary>The whole sign-in as alice: the dashboard's redirect and flow cookie, the provider's pages, the callback.</summary>
    private static async Task<(Uri Authorize, string FlowCookie, HttpResponseMessage Finish)> SignInThroughTheProviderAsync(HttpClient browser, OidcTestProvider oidc)
    {
        var (start, flowCookie) = await StartAsync(browser);
        var back = await oidc.AuthorizeAsync(start, "u-alice", cancellationToken: Ct);
        return (start, flowCookie, await CallbackAsync(browser, back, flowCookie));
    }

    private static Task<HttpResponseMessage> CallbackAsync(HttpClient browser, Uri back, string flowCookie)
    {
        Assert.Equal(Callback, back.GetLeftPart(UriPartial.Path));
        return GetWithCookieAsync(browser, back.PathAndQuery, flowCookie.Split(';')[0]);
    }

    private static async Task<HttpResponseMessage> GetWithCookieAsync(HttpClient browser, string path, string cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (cookie.Length > 0)
        {
            request.Headers.Add("Cookie", cookie);
        }

        return await browser.SendAsync(request, Ct);
    }

    private static async Task<HttpResponseMessage> SignOutAsync(HttpClient browser, string cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/ui/signout");
        request.Headers.Add("Cookie", cookie);
        request.Headers.Add("Sec-Fetch-Site", "same-origin");
        return await browser.SendAsync(request, Ct);
    }

    /// <summary>The flow cookie (<c>gpu-dev-oidc=state.nonce.verifier</c>) with another nonce.</summary>
    private static string OtherNonce(string cookie)
    {
        var parts = cookie.Split('.');
        return $"{parts[0]}.someone-elses-nonce.{parts[2]}";
    }

    /// <summary>The Set-Cookie header for <paramref name="name"/> (value and attributes), or null.</summary>
    private static string? Cookie(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues("Set-Cookie", out var all) ? all.FirstOrDefault(c => c.StartsWith(name + "=", StringComparison.Ordinal) && !c.StartsWith(name + "=;", StringComparison.Ordinal)) : null;
}

using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Core.Audit;
using GpuDev.Core.Compute;
using GpuDev.Server.Identity;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Ui;

/// <summary>The dashboard at <c>/ui</c>: sign-in with a token into an HttpOnly cookie, the page behind it, the cookie
/// accepted by the API with a same-origin proof for changes, and the embedded assets.</summary>
public sealed class UiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly WebApplicationFactoryClientOptions s_browser = new() { AllowAutoRedirect = false, HandleCookies = false };

    [Fact]
    public async Task Ui_Anonymous_RedirectsToSignInForm()
    {
        await using var server = new ServerFixture();
        var browser = server.CreateClient(s_browser);

        var page = await browser.GetAsync("/ui", Ct);
        var form = await browser.GetAsync("/ui/signin", Ct);

        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/ui/signin", page.Headers.Location?.OriginalString);
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        Assert.Equal("text/html", form.Content.Headers.ContentType?.MediaType);
        var html = await form.Content.ReadAsStringAsync(Ct);
        Assert.Contains("<form method=\"post\" action=\"/ui/signin\"", html, StringComparison.Ordinal);
        Assert.Contains("<label for=\"token\">", html, StringComparison.Ordinal);
        Assert.Contains("<input id=\"token\" name=\"token\" type=\"password\"", html, StringComparison.Ordinal);
        Assert.Contains(">Sign in</button>", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_BadToken_FormAgainWith401AndNoCookie()
    {
        await using var server = new ServerFixture();
        var browser = server.CreateClient(s_browser);

        var response = await browser.PostAsync("/ui/signin", Form("gdt_forged"), Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("role=\"alert\"", html, StringComparison.Ordinal);
        Assert.Contains("id=\"token\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_FromAnotherSite_Refused()
    {
        await using var server = new ServerFixture();
        var (_, token) = await UserAsync(server, "alice");
        var browser = server.CreateClient(s_browser);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/ui/signin") { Content = Form(token) };
        request.Headers.Add("Origin", "https://evil.example");

        var response = await browser.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.False(response.Headers.Contains("Set-Cookie"));
    }

    [Fact]
    public async Task SignIn_GoodToken_SetsHttpOnlyStrictCookie_PageAndApiFollowAuthorization()
    {
        await using var server = new ServerFixture(new ComputeNode("n0", "h100", 8, true));
        var (alice, token) = await UserAsync(server, "alice");
        var bob = await server.ClientForAsync("bob");
        var mine = await ServerFixture.WaitForStatusAsync(alice, (await ReserveAsync(alice, 4, "alice-train")).Id, "active");
        var theirs = await ServerFixture.WaitForStatusAsync(bob, (await ReserveAsync(bob, 4, "bob-secret-run")).Id, "active");
        var browser = server.CreateClient(s_browser);

        using var post = new HttpRequestMessage(HttpMethod.Post, "/ui/signin") { Content = Form(token) };
        post.Headers.Add("Origin", "http://localhost"); // as a browser posting the form from this server sends
        post.Headers.Add("Sec-Fetch-Site", "same-origin");
        var signIn = await browser.SendAsync(post, Ct);

        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.Equal("/ui", signIn.Headers.Location?.OriginalString);
        var setCookie = Assert.Single(signIn.Headers.GetValues("Set-Cookie"));
        Assert.StartsWith(BearerAuthMiddleware.SessionCookie + "=", setCookie, StringComparison.Ordinal);
        Assert.Contains("httponly", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=strict", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", setCookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", setCookie, StringComparison.OrdinalIgnoreCase); // plain http in the test
        var cookie = setCookie.Split(';')[0];

        var page = await SendAsync(browser, HttpMethod.Get, "/ui", cookie);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<h1>gpu-dev</h1>", html, StringComparison.Ordinal);
        Assert.Contains("<strong>alice</strong>", html, StringComparison.Ordinal);
        foreach (var heading in new[] { "Availability", "My reservations", "Timeline", "Disks" })
        {
            Assert.Contains($">{heading}</h2>", html, StringComparison.Ordinal);
        }

        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        // The page's data comes from the API with the same cookie: alice's own reservations, bob's only as occupancy.
        var list = await (await SendAsync(browser, HttpMethod.Get, Routes.Reservations, cookie)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ListReservationDto, Ct);
        Assert.Equal([mine.Id], list!.Select(r => r.Id));
        var timeline = await (await SendAsync(browser, HttpMethod.Get, Routes.Timeline, cookie)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.TimelineResponse, Ct);
        var items = timeline!.Nodes.SelectMany(n => n.Items).ToList();
        Assert.Equal("alice-train", Assert.Single(items, i => i.ReservationId == mine.Id && i.Mine).Name);
        var other = Assert.Single(items, i => i.ReservationId == theirs.Id);
        Assert.False(other.Mine);
        Assert.Null(other.Name);
        Assert.Null(other.Reason);
        Assert.DoesNotContain("bob-secret-run", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CookieAuthenticatedChange_NeedsSameOriginHeader_BearerUnaffected()
    {
        await using var server = new ServerFixture(new ComputeNode("n0", "h100", 8, true));
        var (alice, token) = await UserAsync(server, "alice");
        var first = await ServerFixture.WaitForStatusAsync(alice, (await ReserveAsync(alice, 2, "one")).Id, "active");
        var second = await ServerFixture.WaitForStatusAsync(alice, (await ReserveAsync(alice, 2, "two")).Id, "active");
        var browser = server.CreateClient(s_browser);
        var cookie = $"{BearerAuthMiddleware.SessionCookie}={token}";

        var forged = await SendAsync(browser, HttpMethod.Delete, Routes.Reservation(first.Id), cookie);
        var extendForged = await SendAsync(browser, HttpMethod.Patch, Routes.Reservation(first.Id), cookie,
            JsonContent.Create(new EditReservationRequest { ExtendHours = 1 }, GpuDevJsonContext.Default.EditReservationRequest));
        Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, extendForged.StatusCode);
        Assert.Equal("application/problem+json", forged.Content.Headers.ContentType?.MediaType);
        var unchanged = await alice.GetFromJsonAsync(Routes.Reservation(first.Id), GpuDevJsonContext.Default.ReservationDto, Ct);
        Assert.Equal(("active", 0.0), (unchanged!.Status, unchanged.ExtendedHours));

        var extended = await SendAsync(browser, HttpMethod.Patch, Routes.Reservation(first.Id), cookie,
            JsonContent.Create(new EditReservationRequest { ExtendHours = 1 }, GpuDevJsonContext.Default.EditReservationRequest), sameOrigin: true);
        var cancelled = await SendAsync(browser, HttpMethod.Delete, Routes.Reservation(first.Id), cookie, sameOrigin: true);
        Assert.Equal(HttpStatusCode.OK, extended.StatusCode);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.NotEqual("active", (await alice.GetFromJsonAsync(Routes.Reservation(first.Id), GpuDevJsonContext.Default.ReservationDto, Ct))!.Status);

        // A bearer client needs no such header.
        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync(Routes.Reservation(second.Id), Ct)).StatusCode);
    }

    [Fact]
    public async Task Page_UserName_IsHtmlEncoded()
    {
        await using var server = new ServerFixture();
        var (_, token) = await UserAsync(server, "<script>x</script>");
        var browser = server.CreateClient(s_browser);

        var html = await (await SendAsync(browser, HttpMethod.Get, "/ui", $"{BearerAuthMiddleware.SessionCookie}={token}")).Content.ReadAsStringAsync(Ct);

        Assert.DoesNotContain("<script>x</script>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;x&lt;/script&gt;", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StaleCookie_PageRedirectsAndDropsIt_ApiAnswers401()
    {
        await using var server = new ServerFixture();
        var browser = server.CreateClient(s_browser);
        var cookie = $"{BearerAuthMiddleware.SessionCookie}=gdt_forged";

        var page = await SendAsync(browser, HttpMethod.Get, "/ui", cookie);
        var api = await SendAsync(browser, HttpMethod.Get, Routes.Reservations, cookie);

        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.Equal("/ui/signin", page.Headers.Location?.OriginalString);
        Assert.Contains(page.Headers.GetValues("Set-Cookie"), c => c.StartsWith(BearerAuthMiddleware.SessionCookie + "=;", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Fact]
    public async Task SignOut_ClearsCookie()
    {
        await using var server = new ServerFixture();
        var (_, token) = await UserAsync(server, "alice");
        var browser = server.CreateClient(s_browser);

        var response = await SendAsync(browser, HttpMethod.Post, "/ui/signout", $"{BearerAuthMiddleware.SessionCookie}={token}");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/ui/signin", response.Headers.Location?.OriginalString);
        Assert.Contains(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith(BearerAuthMiddleware.SessionCookie + "=;", StringComparison.Ordinal)
            && c.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Page_WithTrailingSlash_RedirectsToThePage()
    {
        await using var server = new ServerFixture();
        var (_, token) = await UserAsync(server, "alice");
        var browser = server.CreateClient(s_browser);

        var signedIn = await SendAsync(browser, HttpMethod.Get, "/ui/", $"{BearerAuthMiddleware.SessionCookie}={token}");
        var anonymous = await browser.GetAsync("/ui/", Ct);

        Assert.Equal((HttpStatusCode.Redirect, "/ui"), (signedIn.StatusCode, signedIn.Headers.Location?.OriginalString));
        Assert.Equal((HttpStatusCode.Redirect, "/ui/signin"), (anonymous.StatusCode, anonymous.Headers.Location?.OriginalString));
    }

    [Fact]
    public async Task SignIns_GoodAndBad_AreAudited()
    {
        await using var server = new ServerFixture();
        var (_, token) = await UserAsync(server, "alice");
        var browser = server.CreateClient(s_browser);

        var bad = await browser.PostAsync("/ui/signin", Form("gdt_forged"), Ct);
        var good = await browser.PostAsync("/ui/signin", Form(token), Ct);

        Assert.Equal((HttpStatusCode.Unauthorized, HttpStatusCode.Redirect), (bad.StatusCode, good.StatusCode));
        var audit = await server.AuditAsync(new AuditQuery(Action: "POST /ui/signin"), entries => entries.Count >= 2);
        Assert.Contains(audit, e => e is { Actor: "anonymous", Outcome: 401 } && e.Detail!.Contains("not valid", StringComparison.Ordinal));
        Assert.Contains(audit, e => e is { Actor: "alice", Outcome: 302, Target: "alice" });
    }

    [Fact]
    public async Task SignIn_GuessesOverTheLimit_429WithRetryAfter_AGoodTokenStillSignsIn_ThrottlingAuditedOnce()
    {
        await using var server = new ServerFixture(new Dictionary<string, string> { ["Server:AuthFailureLimit"] = "10", ["Server:AuthFailureWindow"] = "00:00:03" });
        var (_, token) = await UserAsync(server, "alice");
        var browser = server.CreateClient(s_browser);

        var guesses = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            guesses.Add((await browser.PostAsync("/ui/signin", Form("gdt_guess_" + i), Ct)).StatusCode);
        }

        var throttled = await browser.PostAsync("/ui/signin", Form("gdt_guess_last"), Ct);
        var good = await browser.PostAsync("/ui/signin", Form(token), Ct);
        var audit = await server.AuditAsync(new AuditQuery(Action: "POST /ui/signin"),
            entries => entries.Count(e => e.Outcome == 401) >= 10 && entries.Any(e => e.Outcome == 429) && entries.Any(e => e.Outcome == 302));

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.Unauthorized, 10), HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], guesses);
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), throttled.Headers.RetryAfter?.Delta);
        Assert.Contains("Too many failed sign-ins", await throttled.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.Redirect, "/ui"), (good.StatusCode, good.Headers.Location?.OriginalString));
        Assert.Equal((10, 1), (audit.Count(e => e.Outcome == 401), audit.Count(e => e.Outcome == 429)));
    }

    [Theory]
    [InlineData("/ui/assets/app.js", "text/javascript")]
    [InlineData("/ui/assets/app.css", "text/css")]
    [InlineData("/ui/assets/vendor/vis-timeline/vis-timeline-graph2d.min.js", "text/javascript")]
    [InlineData("/ui/assets/vendor/vis-timeline/vis-timeline-graph2d.min.css", "text/css")]
    [InlineData("/ui/assets/vendor/vis-timeline/LICENSE.md", "text/plain")]
    public async Task Assets_ServedFromTheBinary_WithoutSignIn(string path, string contentType)
    {
        await using var server = new ServerFixture();
        var browser = server.CreateClient(s_browser);

        var response = await browser.GetAsync(path, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType?.MediaType);
        Assert.True((await response.Content.ReadAsByteArrayAsync(Ct)).Length > 100);
    }

    [Theory]
    [InlineData("/ui/assets/missing.js")]
    [InlineData("/ui/assets/..%2F..%2Fappsettings.json")]
    [InlineData("/ui/assets/vendor/vis-timeline/vis-timeline-graph2d.min.js.map")]
    public async Task Assets_Unknown_NotFound(string path)
    {
        await using var server = new ServerFixture();
        var browser = server.CreateClient(s_browser);

        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync(path, Ct)).StatusCode);
    }

    private static FormUrlEncodedContent Form(string token) => new([new KeyValuePair<string, string>("token", token)]);

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string path, string cookie, HttpContent? content = null, bool sameOrigin = false)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add("Cookie", cookie);
        if (sameOrigin)
        {
            request.Headers.Add(BearerAuthMiddleware.SameOriginHeader, "1");
        }

        return await client.SendAsync(request, Ct);
    }

    private static async Task<(HttpClient Client, string Token)> UserAsync(ServerFixture server, string name)
    {
        var token = Tokens.Generate();
        await server.Store.AddUserAsync(name, null, false, Tokens.Hash(token), [GpuDev.Testing.TestKeys.Ed25519], CancellationToken.None);
        var client = server.CreateClient();
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return (client, token);
    }

    private static async Task<ReservationDto> ReserveAsync(HttpClient client, int gpus, string name)
    {
        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = gpus, Hours = 2, Name = name },
            GpuDevJsonContext.Default.CreateReservationRequest, Ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, Ct))!;
    }
}

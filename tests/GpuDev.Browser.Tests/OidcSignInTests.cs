using System.Text.RegularExpressions;
using GpuDev.EndToEnd.Tests;
using GpuDev.Testing.Oidc;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GpuDev.Browser.Tests;

/// <summary>Signing in to the dashboard with the site's OpenID provider, in chromium: the real server configured with a
/// real provider (oidc-provider, a public web client), the provider's own login and consent pages, back to the
/// dashboard signed in; signing out ends the dashboard's session, and where configured the provider's too.</summary>
public sealed class OidcSignInTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task SignIn_WithTheProvider_LandsOnTheDashboardAsThatUser_SignOutEndsIt()
    {
        await using var oidc = await StartProviderAsync(out var port);
        await using var site = await StartSiteAsync(oidc, port, signOutAtProvider: false);
        await using var session = await browser.NewPageAsync(label: "oidc");
        var page = session.Page;

        await page.GotoAsync($"{site.Url}/ui");
        await Screenshots.TakeAsync(page, "oidc-signin");
        await SignInAsync(page, site, oidc);
        await Screenshots.TakeAsync(page, "oidc-signed-in");
        var cookies = await page.Context.CookiesAsync([site.Url]);

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/ui/signin$"));
        var afterSignOut = await page.GotoAsync($"{site.Url}/ui");

        var sessionCookie = Assert.Single(cookies, c => c.Name == "gpu-dev-session");
        Assert.True(sessionCookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, sessionCookie.SameSite);
        Assert.DoesNotContain(cookies, c => c.Name == "gpu-dev-oidc"); // the flow's cookie is gone once it is used
        Assert.Equal("/ui/signin", new Uri(page.Url).AbsolutePath);
        Assert.Equal(200, afterSignOut!.Status);
        Assert.Contains("alice signed in (created: True)", site.Server.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignOut_AtTheProviderConfigured_EndsTheProvidersSessionToo_NextSignInAsksToLogIn()
    {
        await using var oidc = await StartProviderAsync(out var port);
        await using var site = await StartSiteAsync(oidc, port, signOutAtProvider: true);
        await using var session = await browser.NewPageAsync(label: "oidc-out");
        var page = session.Page;
        await page.GotoAsync($"{site.Url}/ui");
        await SignInAsync(page, site, oidc);

        // Signed out here, the browser goes on to the provider, which asks; yes brings it back to the sign-in page.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("^" + Regex.Escape(oidc.Issuer) + "/session/end"));
        await Screenshots.TakeAsync(page, "provider-sign-out");
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, sign me out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("^" + Regex.Escape(site.Url) + "/ui/signin$"));
        var dashboard = await page.GotoAsync($"{site.Url}/ui");
        var landedOn = new Uri(page.Url).AbsolutePath;
        // The provider's session is gone: signing in again means logging in again, not passing straight through.
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with your organisation's account" }).ClickAsync();
        await Expect(page.Locator("input[name=login]")).ToBeVisibleAsync();

        Assert.Equal(200, dashboard!.Status);
        Assert.Equal("/ui/signin", landedOn);
        Assert.StartsWith(oidc.Issuer + "/interaction/", page.Url, StringComparison.Ordinal);
    }

    /// <summary>The provider, its web client sent back to a server on <paramref name="port"/>.</summary>
    private static Task<OidcTestProvider> StartProviderAsync(out int port)
    {
        port = ServerProcess.FreePort();
        return OidcTestProvider.StartAsync(webRedirectUri: $"http://127.0.0.1:{port}/ui/signin/oidc/callback", cancellationToken: TestContext.Current.CancellationToken);
    }

    private static Task<DashboardSite> StartSiteAsync(OidcTestProvider oidc, int port, bool signOutAtProvider) =>
        DashboardSite.StartAsync(new Dictionary<string, string>
        {
            ["GPUDEV_AUTH__OIDC__AUTHORITY"] = oidc.Issuer,
            ["GPUDEV_AUTH__OIDC__REQUIREHTTPS"] = "false",
            ["GPUDEV_AUTH__OIDC__SCOPES"] = "openid email profile groups",
            ["GPUDEV_AUTH__OIDC__WEBCLIENTID"] = OidcTestProvider.WebClientId,
            ["GPUDEV_AUTH__OIDC__SIGNOUTATPROVIDER"] = signOutAtProvider ? "true" : "false",
        }, port);

    /// <summary>From the sign-in page, through the provider's pages (tests/oidc-provider/provider.mjs: log in as u-alice,
    /// allow gpu-dev's scopes), back to the dashboard as alice.</summary>
    private static async Task SignInAsync(IPage page, DashboardSite site, OidcTestProvider oidc)
    {
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with your organisation's account" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("^" + Regex.Escape(oidc.Issuer) + "/interaction/"));
        await page.Locator("input[name=login]").FillAsync("u-alice");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Allow" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("^" + Regex.Escape(site.Url) + "/ui$"));
        await Expect(page.Locator(".who")).ToContainTextAsync("Signed in as alice");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "My reservations" })).ToBeVisibleAsync();
    }
}

using System.Text.RegularExpressions;
using GpuDev.EndToEnd.Tests;
using GpuDev.Testing.Oidc;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GpuDev.Browser.Tests;

/// <summary>Signing in to the dashboard with the site's OpenID provider, in chromium: the real server configured with a
/// real provider (oidc-provider, a public web client), the provider's own login and consent pages, back to the
/// dashboard signed in; signing out ends the dashboard's session.</summary>
public sealed class OidcSignInTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task SignIn_WithTheProvider_LandsOnTheDashboardAsThatUser_SignOutEndsIt()
    {
        var port = ServerProcess.FreePort();
        await using var oidc = await OidcTestProvider.StartAsync(
            webRedirectUri: $"http://127.0.0.1:{port}/ui/signin/oidc/callback", cancellationToken: TestContext.Current.CancellationToken);
        await using var site = await DashboardSite.StartAsync(new Dictionary<string, string>
        {
            ["GPUDEV_AUTH__OIDC__AUTHORITY"] = oidc.Issuer,
            ["GPUDEV_AUTH__OIDC__REQUIREHTTPS"] = "false",
            ["GPUDEV_AUTH__OIDC__SCOPES"] = "openid email profile groups",
            ["GPUDEV_AUTH__OIDC__WEBCLIENTID"] = OidcTestProvider.WebClientId,
        }, port);
        await using var session = await browser.NewPageAsync(label: "oidc");
        var page = session.Page;
        var dashboard = new Regex("^" + Regex.Escape(site.Url) + "/ui$");

        await page.GotoAsync($"{site.Url}/ui");
        await Screenshots.TakeAsync(page, "oidc-signin");
        await page.GetByRole(AriaRole.Link, new() { Name = "Sign in with your organisation's account" }).ClickAsync();
        // The provider's pages (tests/oidc-provider/provider.mjs): log in as u-alice, allow gpu-dev's scopes.
        await Expect(page).ToHaveURLAsync(new Regex("^" + Regex.Escape(oidc.Issuer) + "/interaction/"));
        await page.Locator("input[name=login]").FillAsync("u-alice");
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Allow" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(dashboard);
        await Expect(page.Locator(".who")).ToContainTextAsync("Signed in as alice");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "My reservations" })).ToBeVisibleAsync();
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
}

using GpuDev.EndToEnd.Tests;
using Microsoft.Playwright;

namespace GpuDev.Browser.Tests;

/// <summary>The harness itself, without the dashboard: the real server, chromium through Playwright, screenshots.</summary>
public sealed class HarnessTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task Chromium_OpensServerPages_ShowsTheirTextAndWritesScreenshots()
    {
        await using var server = await ServerProcess.StartAsync("h100:8");
        await using var session = await browser.NewPageAsync();
        var page = session.Page;

        var health = await page.GotoAsync($"{server.Url}/healthz");
        var healthText = await page.Locator("body").InnerTextAsync();
        var healthShot = await Screenshots.TakeAsync(page, "healthz");
        var openApi = await page.GotoAsync($"{server.Url}/openapi/v1.json");
        await Assertions.Expect(page.Locator("body")).ToContainTextAsync("/api/v1/timeline");
        var openApiShot = await Screenshots.TakeAsync(page, "openapi");
        var debian = E2e.Check(await Proc.RunAsync(BrowserFixture.ChromiumPath, ["--version"]));

        Assert.Equal(200, health!.Status);
        Assert.Contains("\"status\":\"ok\"", healthText, StringComparison.Ordinal);
        Assert.Equal(200, openApi!.Status);
        // The page ran in the launched browser, and that is Debian's chromium (the user agent gives only the major version).
        Assert.Contains($"Chrome/{browser.Browser.Version.Split('.')[0]}.", await page.EvaluateAsync<string>("navigator.userAgent"), StringComparison.Ordinal);
        Assert.Contains($"Chromium {browser.Browser.Version} ", debian.Stdout, StringComparison.Ordinal);
        Assert.All([healthShot, openApiShot], p => Assert.True(new FileInfo(p).Length > 1000, $"{p} is not a screenshot"));
    }
}

using System.Diagnostics;
using System.Net;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GpuDev.Browser.Tests;

/// <summary>The web dashboard (<c>/ui</c>) in a real browser, against its contract: sign-in page for the anonymous, the four
/// sections, a timeline element per reservation (<c>data-reservation-id</c>), cancel through a dialog, others' names hidden.</summary>
public sealed class DashboardTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private static readonly string[] s_sections = ["Availability", "My reservations", "Timeline", "Disks"];

    [Fact]
    public async Task Ui_Anonymous_LandsOnSignInPage()
    {
        await using var site = await DashboardSite.StartAsync();
        await using var session = await browser.NewPageAsync();
        var page = session.Page;
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });

        var redirect = await http.GetAsync(new Uri($"{site.Url}/ui"), TestContext.Current.CancellationToken);
        await page.GotoAsync($"{site.Url}/ui");
        await Screenshots.TakeAsync(page, "signin");

        Assert.Equal(HttpStatusCode.Redirect, redirect.StatusCode);
        Assert.Equal("/ui/signin", new Uri(new Uri(site.Url), redirect.Headers.Location!).AbsolutePath);
        Assert.Equal("/ui/signin", new Uri(page.Url).AbsolutePath);
        await Expect(page.Locator("#token")).ToHaveAttributeAsync("type", "password");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign in" })).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "My reservations" })).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task SignIn_WrongToken_NotSignedIn()
    {
        await using var site = await DashboardSite.StartAsync();
        await using var session = await browser.NewPageAsync();
        var page = session.Page;

        await page.GotoAsync($"{site.Url}/ui/signin");
        await page.Locator("#token").FillAsync("gpd_not-a-token");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForLoadStateAsync(LoadState.Load);
        await Screenshots.TakeAsync(page, "wrong-token");
        await page.GotoAsync($"{site.Url}/ui");

        Assert.Equal("/ui/signin", new Uri(page.Url).AbsolutePath);
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "My reservations" })).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task SignIn_WithToken_ShowsSectionsOnDesktopPhoneAndDark()
    {
        await using var site = await DashboardSite.StartAsync();
        var alice = await site.AddUserAsync("alice");
        var layouts = new (string Step, BrowserNewContextOptions Options)[]
        {
            ("desktop", new() { ViewportSize = new() { Width = 1280, Height = 800 } }),
            ("phone", new() { ViewportSize = new() { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true, DeviceScaleFactor = 2 }),
            ("dark", new() { ViewportSize = new() { Width = 1280, Height = 800 }, ColorScheme = ColorScheme.Dark }),
        };

        foreach (var (step, options) in layouts)
        {
            await using var session = await browser.NewPageAsync(options, step);
            var page = session.Page;

            await site.SignInAsync(page, alice);
            await Expect(page.Locator("h1")).ToContainTextAsync("gpu-dev");
            foreach (var section in s_sections)
            {
                await Expect(page.GetByRole(AriaRole.Heading, new() { Name = section }).First).ToBeVisibleAsync();
            }

            await Screenshots.TakeAsync(page, step);
            // The page itself fits the phone's width (a wide timeline scrolls inside its own box, not the page).
            var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
            Assert.True(overflow <= 0, $"{step}: the page is {overflow} px wider than the {options.ViewportSize!.Width} px viewport");
        }
    }

    [Fact]
    public async Task Timeline_TwoUsersOneQueued_HasAnElementForEachReservation()
    {
        await using var site = await DashboardSite.StartAsync();
        var alice = await site.AddUserAsync("alice");
        var bob = await site.AddUserAsync("bob");
        var running = await DashboardSite.ReserveAsync(alice, "t4", 4, "alice-t4");
        var queued = await DashboardSite.ReserveAsync(bob, "t4", 4, "bob-t4", wait: false);
        await using var session = await browser.NewPageAsync();
        var page = session.Page;

        await site.SignInAsync(page, alice);
        await Expect(page.Locator($"[data-reservation-id=\"{running.Id}\"]").First).ToBeAttachedAsync();
        await Expect(page.Locator($"[data-reservation-id=\"{queued.Id}\"]").First).ToBeAttachedAsync();
        await Screenshots.TakeAsync(page, "timeline");

        Assert.Equal("active", running.Status);
        Assert.Contains(queued.Status, new[] { "pending", "queued" }); // as created (--no-wait); the timeline shows it once queued
    }

    [Fact]
    public async Task Cancel_MyReservationThroughDialog_ShownByTheRefreshTheCancelTriggers()
    {
        await using var site = await DashboardSite.StartAsync();
        var alice = await site.AddUserAsync("alice");
        var reservation = await DashboardSite.ReserveAsync(alice, "h100", 1, "to-cancel");
        await using var session = await browser.NewPageAsync();
        var page = session.Page;
        var item = page.Locator($"[data-reservation-id=\"{reservation.Id}\"]");

        await site.SignInAsync(page, alice);
        await Expect(item.First).ToBeAttachedAsync();
        // With the poll stopped, only the refresh the cancel asks for can show it: the page does not wait for its next poll.
        await PagePolling.StopAsync(page);
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel", Exact = true }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToBeVisibleAsync();
        await Screenshots.TakeAsync(page, "dialog");
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel reservation" }).ClickAsync();
        var clock = Stopwatch.StartNew();
        // Gone, or shown as ended and releasing its GPUs (the container is still being removed: they are not free yet).
        await Expect(page.Locator($"[data-reservation-id=\"{reservation.Id}\"]:not([data-status=\"ending\"])")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        TestContext.Current.TestOutputHelper?.WriteLine($"cancelled reservation updated on the page {clock.Elapsed.TotalSeconds:0.0} s after the confirmation");
        await Screenshots.TakeAsync(page, "cancelled");
        // Once its container is removed, the next poll takes it off.
        await PagePolling.ResumeAsync(page);
        await Expect(item).ToHaveCountAsync(0, new() { Timeout = 60_000 });
        var after = await DashboardSite.ShowAsync(alice, reservation.Id);

        Assert.Equal("cancelled", after.Status);
    }

    [Fact]
    public async Task Poll_AChangeMadeElsewhere_ShownAfterAtMostFiveSecondsOfPageTime()
    {
        await using var site = await DashboardSite.StartAsync();
        var alice = await site.AddUserAsync("alice");
        await using var session = await browser.NewPageAsync();
        var page = session.Page;
        await page.Clock.InstallAsync();
        await site.SignInAsync(page, alice);
        await Expect(page.Locator("#status")).ToContainTextAsync("Updated");
        var timelineRequests = PagePolling.CountTimelineRequests(page);

        // The page's clock stands still (a poll that the jump to the pause fired has been sent a second later): however
        // long the CLI's reservation takes, the page does not poll.
        await page.Clock.PauseAtAsync(DateTime.Now.AddSeconds(1));
        await Task.Delay(TimeSpan.FromSeconds(1));
        var atPause = timelineRequests();
        var reservation = await DashboardSite.ReserveAsync(alice, "t4", 1, "made-elsewhere");
        await Task.Delay(TimeSpan.FromSeconds(6));
        var whilePaused = timelineRequests() - atPause;
        var shownWhilePaused = await page.Locator($"[data-reservation-id=\"{reservation.Id}\"]").CountAsync();
        // Five seconds of page time hold a poll, whenever the last one was.
        var polled = page.WaitForRequestAsync(r => new Uri(r.Url).AbsolutePath == "/api/v1/timeline");
        await page.Clock.RunForAsync(5_000);
        await polled;
        await page.Clock.ResumeAsync();
        await Expect(page.Locator($"[data-reservation-id=\"{reservation.Id}\"][data-status=\"active\"]").First).ToBeAttachedAsync();

        Assert.Equal(0, whilePaused);
        Assert.Equal(0, shownWhilePaused);
    }

    [Fact]
    public async Task Timeline_AnotherUsersReservation_ShownWithoutItsName()
    {
        await using var site = await DashboardSite.StartAsync();
        var alice = await site.AddUserAsync("alice");
        var bob = await site.AddUserAsync("bob");
        var mine = await DashboardSite.ReserveAsync(alice, "h100", 1, "alice-visible-name");
        var theirs = await DashboardSite.ReserveAsync(bob, "h100", 1, "bob-secret-name");
        await using var session = await browser.NewPageAsync();
        var page = session.Page;

        await site.SignInAsync(page, alice);
        await Expect(page.Locator($"[data-reservation-id=\"{theirs.Id}\"]").First).ToBeAttachedAsync();
        await Expect(page.Locator($"[data-reservation-id=\"{mine.Id}\"]").First).ToBeAttachedAsync();
        await Expect(page.Locator("body")).ToContainTextAsync("alice-visible-name");
        await Screenshots.TakeAsync(page, "others");
        var html = await page.ContentAsync();

        Assert.DoesNotContain("bob-secret-name", html, StringComparison.Ordinal);
    }
}

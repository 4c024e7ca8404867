using System.Text.Json;
using GpuDev.EndToEnd.Tests;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GpuDev.Browser.Tests;

/// <summary>The dashboard and its sign-in page checked by axe-core (the engine behind Lighthouse's and browsers'
/// accessibility audits) in chromium, for the WCAG 2.1 A and AA rules it can test automatically (contrast, names and
/// labels, roles, landmarks, language…), in light and dark, on a laptop and a phone, with a timeline that has running,
/// queued, mine and others' reservations, and with the cancel dialog open. Keyboard use is tested alongside.</summary>
public sealed class AccessibilityTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    private static readonly string s_axe = Path.Combine(ServerProcess.RepoRoot, "tests", "browser-a11y", "node_modules", "axe-core", "axe.min.js");

    [Fact]
    public async Task Dashboard_LightDarkAndPhone_NoWcagViolations()
    {
        await using var site = await DashboardSite.StartAsync();
        var alice = await site.AddUserAsync("alice");
        var bob = await site.AddUserAsync("bob");
        var mine = await DashboardSite.ReserveAsync(alice, "t4", 4, "alice-notebook");
        var queued = await DashboardSite.ReserveAsync(bob, "t4", 2, "bob-waits", wait: false);
        await DashboardSite.ReserveAsync(bob, "h100", 2, "bob-train");
        var layouts = new (string Step, BrowserNewContextOptions Options)[]
        {
            ("light", new() { ViewportSize = new() { Width = 1280, Height = 800 }, BypassCSP = true }),
            ("dark", new() { ViewportSize = new() { Width = 1280, Height = 800 }, ColorScheme = ColorScheme.Dark, BypassCSP = true }),
            ("phone", new() { ViewportSize = new() { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true, BypassCSP = true }),
        };

        var found = new List<string>();
        foreach (var (step, options) in layouts)
        {
            await using var session = await browser.NewPageAsync(options, "a11y-" + step);
            var page = session.Page;
            await site.SignInAsync(page, alice);
            await Expect(page.Locator($"[data-reservation-id=\"{mine.Id}\"]").First).ToBeAttachedAsync();
            await Expect(page.Locator($"[data-reservation-id=\"{queued.Id}\"]").First).ToBeAttachedAsync(new() { Timeout = 30_000 });
            found.AddRange(await ViolationsAsync(page, step));

            await page.GetByRole(AriaRole.Button, new() { Name = "Cancel", Exact = true }).ClickAsync();
            await Expect(page.GetByRole(AriaRole.Dialog)).ToBeVisibleAsync();
            found.AddRange(await ViolationsAsync(page, step + " with the cancel dialog"));
            await Screenshots.TakeAsync(page, "a11y-" + step);
        }

        Assert.True(found.Count == 0, "axe-core found:\n" + string.Join('\n', found));
    }

    [Fact]
    public async Task SignInPage_LightAndDark_NoWcagViolations_UsableByKeyboardAlone()
    {
        await using var site = await DashboardSite.StartAsync();
        var alice = await site.AddUserAsync("alice");
        var found = new List<string>();
        foreach (var scheme in new[] { ColorScheme.Light, ColorScheme.Dark })
        {
            await using var session = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 }, ColorScheme = scheme, BypassCSP = true });
            await session.Page.GotoAsync($"{site.Url}/ui/signin");
            found.AddRange(await ViolationsAsync(session.Page, $"sign-in ({scheme})"));
        }

        // The check itself sees faults: an image without a text alternative and grey on grey.
        await using var broken = await browser.NewPageAsync(new() { BypassCSP = true });
        await broken.Page.GotoAsync($"{site.Url}/ui/signin");
        await broken.Page.EvaluateAsync("() => document.querySelector('main').insertAdjacentHTML('beforeend', "
            + "'<img src=\"/ui/assets/none.png\"><p style=\"color:#777;background:#888\">faint</p>')");
        var faults = await ViolationsAsync(broken.Page, "planted");

        // Keyboard alone: the token field has focus on arrival, Enter submits, and the first Tab on the dashboard
        // reaches the "Skip to content" link.
        await using var keyboard = await browser.NewPageAsync();
        var page = keyboard.Page;
        await page.GotoAsync($"{site.Url}/ui/signin");
        await Expect(page.Locator("#token")).ToBeFocusedAsync();
        await page.Keyboard.TypeAsync(alice.Token);
        await page.Keyboard.PressAsync("Enter");
        await Expect(page.Locator(".who")).ToContainTextAsync("alice");
        await page.Keyboard.PressAsync("Tab");
        var focused = await page.EvaluateAsync<string>("document.activeElement.textContent");

        Assert.True(found.Count == 0, "axe-core found:\n" + string.Join('\n', found));
        Assert.Equal("Skip to content", focused);
        Assert.Contains(faults, f => f.StartsWith("planted: image-alt", StringComparison.Ordinal));
        Assert.Contains(faults, f => f.StartsWith("planted: color-contrast", StringComparison.Ordinal));
    }

    /// <summary>axe-core's WCAG 2.1 A/AA violations on the page as it is now: rule, impact, what it asks, and where.</summary>
    private static async Task<IReadOnlyList<string>> ViolationsAsync(IPage page, string where)
    {
        if (!File.Exists(s_axe))
        {
            throw new InvalidOperationException($"{s_axe} is missing: cd tests/browser-a11y && npm ci (.ci/run and test.sh do).");
        }

        if (await page.EvaluateAsync<bool>("typeof axe === 'undefined'"))
        {
            await page.AddScriptTagAsync(new() { Path = s_axe });
        }

        var json = await page.EvaluateAsync<JsonElement>("""
            async () => (await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }))
              .violations.map(v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 5).map(n => n.target.join(' ')).join(' | ')}`)
            """);
        return [.. json.EnumerateArray().Select(v => $"{where}: {v.GetString()}")];
    }
}

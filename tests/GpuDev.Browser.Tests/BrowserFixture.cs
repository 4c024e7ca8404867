using Microsoft.Playwright;

namespace GpuDev.Browser.Tests;

/// <summary>One headless Debian chromium per test class, driven by Playwright; each test opens its own context
/// (<see cref="NewPageAsync"/>), so cookies and storage never leak between tests. Playwright's own browser download is
/// never used: the executable is the system's (installed by .ci/run with apt).</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>How long any one step (a navigation, a click, an expectation) may take before the test fails.</summary>
    public static readonly TimeSpan StepTimeout = TimeSpan.FromSeconds(15);

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("the browser is not started");

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            // A test that cannot run here fails, with what to do (CI installs chromium in .ci/run).
            throw new InvalidOperationException($"{ChromiumPath} is missing: install Debian's chromium (apt-get install chromium; .ci/run does).");
        }

        // Expectations (Expect(...)) have their own default, 5 s, which a loaded 2-core CI machine can exceed for a first
        // page load and refresh: they get the step timeout too (a test passes its own where it claims a bound).
        Assertions.SetDefaultExpectTimeout((float)StepTimeout.TotalMilliseconds);
        _playwright = await Playwright.CreateAsync();
        // --no-sandbox: chromium refuses to start its sandbox as root (CI runs as root) and where user namespaces are off.
        _browser = await _playwright.Chromium.LaunchAsync(new() { ExecutablePath = ChromiumPath, Headless = true, Args = ["--no-sandbox"] });
    }

    /// <summary>A fresh context (no cookies) and a page in it, 1280×800 unless <paramref name="options"/> say otherwise;
    /// <paramref name="label"/> names its last screenshot.</summary>
    public async Task<BrowserPage> NewPageAsync(BrowserNewContextOptions? options = null, string label = "page")
    {
        var context = await Browser.NewContextAsync(options ?? new() { ViewportSize = new() { Width = 1280, Height = 800 } });
        context.SetDefaultTimeout((float)StepTimeout.TotalMilliseconds);
        context.SetDefaultNavigationTimeout((float)StepTimeout.TotalMilliseconds);
        return new BrowserPage(context, await context.NewPageAsync(), label);
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

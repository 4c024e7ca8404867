using Microsoft.Playwright;

namespace GpuDev.Browser.Tests;

/// <summary>A page in its own browser context. Disposing it takes a last screenshot (<c>&lt;label&gt;-end</c>), so a failed
/// test leaves a picture of where it stopped, then closes the context.</summary>
public sealed class BrowserPage(IBrowserContext context, IPage page, string label) : IAsyncDisposable
{
    public IPage Page { get; } = page;

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Screenshots.TakeAsync(Page, label + "-end");
        }
        catch (PlaywrightException)
        {
            // The page is already gone (the browser died): the test's own failure says why.
        }

        await context.DisposeAsync();
    }
}

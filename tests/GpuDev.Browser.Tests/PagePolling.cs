using Microsoft.Playwright;

namespace GpuDev.Browser.Tests;

/// <summary>The dashboard shows a change in one of two ways: the refresh that follows the user's own action, and its poll
/// every 5 s while the page is visible. Tests check each way on its own instead of racing a stopwatch, which a loaded
/// machine's slow requests would decide.</summary>
internal static class PagePolling
{
    /// <summary>Stops the page's polling until <see cref="ResumeAsync"/>: the poll refreshes only while the document is visible,
    /// so the document is made to read as hidden. What the page shows afterwards came from a refresh it was asked for.</summary>
    public static Task StopAsync(IPage page) =>
        page.EvaluateAsync("() => { Object.defineProperty(document, 'hidden', { configurable: true, get: () => true }); }");

    /// <summary>Lets the page poll again (undoes <see cref="StopAsync"/>).</summary>
    public static Task ResumeAsync(IPage page) => page.EvaluateAsync("() => { delete document.hidden; }");

    /// <summary>The page's requests for the timeline, counted from now.</summary>
    public static Func<int> CountTimelineRequests(IPage page)
    {
        var count = 0;
        page.Request += (_, request) =>
        {
            if (new Uri(request.Url).AbsolutePath == "/api/v1/timeline")
            {
                Interlocked.Increment(ref count);
            }
        };
        return () => Volatile.Read(ref count);
    }
}

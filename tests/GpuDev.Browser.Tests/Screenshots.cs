using Microsoft.Playwright;

namespace GpuDev.Browser.Tests;

/// <summary>Full-page screenshots under the test output: <c>TestResults/screenshots/&lt;class&gt;.&lt;test&gt;-&lt;step&gt;.png</c>
/// next to the test assembly (GPU_DEV_SCREENSHOTS overrides the folder); each path is written to the test's output.</summary>
internal static class Screenshots
{
    public static string Folder { get; } = Environment.GetEnvironmentVariable("GPU_DEV_SCREENSHOTS") is { Length: > 0 } dir
        ? Path.GetFullPath(dir)
        : Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    public static async Task<string> TakeAsync(IPage page, string step)
    {
        var test = TestContext.Current;
        var name = $"{test.TestClass?.TestClassSimpleName ?? "test"}.{test.TestMethod?.MethodName ?? "unknown"}-{step}.png";
        var path = Path.Combine(Folder, name);
        Directory.CreateDirectory(Folder);
        await page.ScreenshotAsync(new() { Path = path, FullPage = true });
        test.TestOutputHelper?.WriteLine($"screenshot: {path}");
        return path;
    }
}

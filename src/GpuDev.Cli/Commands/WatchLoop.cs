using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands;

/// <summary>The <c>--watch</c> loop shared by <c>list</c> and <c>avail</c>: fetch, redraw (clearing the screen on a
/// TTY), wait, repeat. Ctrl+C ends it with exit code 0: stopping a watch is the normal way to leave it.</summary>
internal static class WatchLoop
{
    public static async Task<int> RunAsync<T>(
        CliServices services,
        TimeSpan interval,
        string commandLine,
        bool decorate,
        Func<CancellationToken, Task<T>> fetch,
        Action<T> render,
        CancellationToken cancellationToken)
    {
        var console = services.Console;
        try
        {
            while (true)
            {
                var data = await fetch(cancellationToken).ConfigureAwait(false);
                if (decorate)
                {
                    var now = services.Time.GetUtcNow();
                    console.ClearScreen();
                    console.Out.WriteLine($"Every {interval.TotalSeconds:0}s: {commandLine}    {Format.LocalTime(now, now)}  (Ctrl+C to stop)");
                    console.Out.WriteLine();
                }

                render(data);
                await Task.Delay(interval, services.Time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Success;
        }
    }
}

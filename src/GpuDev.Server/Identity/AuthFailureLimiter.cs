using System.Collections.Concurrent;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Identity;

/// <summary>Counts failed authentications per remote address in a fixed window (<c>Server:AuthFailureLimit</c> per
/// <c>Server:AuthFailureWindow</c>, default 10 per minute). An address over the limit is refused with 429 until its
/// window ends, before any token lookup, so a guesser learns nothing more. Successful requests never count, and other
/// addresses are never affected. Time comes from the injected <see cref="TimeProvider"/>.</summary>
internal sealed class AuthFailureLimiter(TimeProvider timeProvider, IOptions<ServerOptions> options)
{
    private const int MaxTrackedAddresses = 10_000;
    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);

    /// <summary>How long the address must wait, or null when it may try.</summary>
    public TimeSpan? RetryAfter(string address)
    {
        var now = timeProvider.GetUtcNow();
        if (!_windows.TryGetValue(address, out var window) || now >= window.Start + options.Value.AuthFailureWindow)
        {
            return null;
        }

        return window.Failures >= options.Value.AuthFailureLimit ? window.Start + options.Value.AuthFailureWindow - now : null;
    }

    public void RecordFailure(string address)
    {
        var now = timeProvider.GetUtcNow();
        var length = options.Value.AuthFailureWindow;
        if (_windows.Count >= MaxTrackedAddresses)
        {
            foreach (var (key, old) in _windows)
            {
                if (now >= old.Start + length)
                {
                    _windows.TryRemove(key, out _);
                }
            }
        }

        _windows.AddOrUpdate(address, _ => new Window(now, 1),
            (_, window) => now >= window.Start + length ? new Window(now, 1) : window with { Failures = window.Failures + 1 });
    }

    private sealed record Window(DateTimeOffset Start, int Failures);
}

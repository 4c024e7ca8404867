using System.Collections.Concurrent;
using System.Globalization;
using GpuDev.Server.Audit;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Identity;

/// <summary>Counts failed authentications per remote address in a fixed window (<c>Server:AuthFailureLimit</c> per
/// <c>Server:AuthFailureWindow</c>, default 10 per minute). Over the limit, the address's failed attempts get 429 instead
/// of 401 until its window ends. Only failures count, and a valid token is never refused: many users share one address
/// (everyone on the server's host is 127.0.0.1, everyone behind an ingress is the proxy), so one guesser must not lock
/// them out. Time comes from the injected <see cref="TimeProvider"/>.</summary>
internal sealed class AuthFailureLimiter(TimeProvider timeProvider, IOptions<ServerOptions> options)
{
    private const int MaxTrackedAddresses = 10_000;
    private readonly ConcurrentDictionary<string, Window> _windows = new(StringComparer.Ordinal);

    /// <summary>How long the address must wait, or null when it may try.</summary>
    private TimeSpan? RetryAfter(string address)
    {
        var now = timeProvider.GetUtcNow();
        if (!_windows.TryGetValue(address, out var window) || now >= window.Start + options.Value.AuthFailureWindow)
        {
            return null;
        }

        return window.Failures >= options.Value.AuthFailureLimit ? window.Start + options.Value.AuthFailureWindow - now : null;
    }

    /// <summary><see cref="RetryAfter"/> in whole seconds, at least 1 (for Retry-After and the message), or null.</summary>
    private int? RetryAfterSeconds(string address) =>
        RetryAfter(address) is { } wait ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : null;

    /// <summary>Whether the request's address must wait now: null when it may try; else the address and the seconds to
    /// wait, with Retry-After set on the response and, past the window's first throttled attempt, the request marked as
    /// already audited (that first one stands for the rest). Every place that authenticates throttles through this.</summary>
    public (string Address, int Seconds)? Throttle(HttpContext http)
    {
        var address = Address(http);
        if (RetryAfterSeconds(address) is not { } seconds)
        {
            return null;
        }

        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        if (!FirstThrottled(address))
        {
            http.Items[AuditMiddleware.SkipItem] = true;
        }

        return (address, seconds);
    }

    /// <summary>The address failures are counted against: the client's (behind a trusted proxy, the one it forwarded).</summary>
    public static string Address(HttpContext http) => AuditMiddleware.RemoteAddress(http) ?? "unknown";

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

    /// <summary>True for the first throttled attempt of the address's window: only that one is audited, the rest of the
    /// window's refusals are summed up in it.</summary>
    private bool FirstThrottled(string address)
    {
        var first = false;
        _windows.AddOrUpdate(address, _ => new Window(timeProvider.GetUtcNow(), 0), (_, window) =>
        {
            first = !window.ThrottleAudited;
            return window with { ThrottleAudited = true };
        });
        return first;
    }

    private sealed record Window(DateTimeOffset Start, int Failures, bool ThrottleAudited = false);
}

namespace GpuDev.Server.Processing;

/// <summary>A value recomputed at most once every <c>every</c> (by the injected clock), one computation at a time: for
/// figures a scheduling pass needs every second but that change slowly (<see cref="EndHistory"/>, <see cref="RecentUsage"/>).</summary>
internal sealed class Refreshed<T>(TimeProvider timeProvider, TimeSpan every)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private T _value = default!;
    private DateTimeOffset? _at;

    /// <summary>The kept value, or a new one from <paramref name="compute"/> (given the current time) once it is older than
    /// the period.</summary>
    public async Task<T> GetAsync(Func<DateTimeOffset, CancellationToken, Task<T>> compute, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var now = timeProvider.GetUtcNow();
            if (_at is not { } at || now - at >= every)
            {
                _value = await compute(now, cancellationToken);
                _at = now;
            }

            return _value;
        }
        finally
        {
            _gate.Release();
        }
    }
}

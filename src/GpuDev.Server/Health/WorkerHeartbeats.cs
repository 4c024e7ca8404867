using System.Collections.Concurrent;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Health;

/// <summary>Each worker beats once per loop; a worker is live when its last beat is at most
/// max(3 × its interval, 30 s) old. The scheduler, job and lifecycle workers are expected from the start,
/// so a worker that never started reads "not started".</summary>
public sealed class WorkerHeartbeats
{
    public const string Scheduler = "scheduler";
    public const string Job = "job";
    public const string Lifecycle = "lifecycle";

    private static readonly TimeSpan s_minStale = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<string, Entry> _beats = new(StringComparer.Ordinal);
    private readonly TimeProvider _timeProvider;

    public WorkerHeartbeats(TimeProvider timeProvider, IOptions<ServerOptions> options)
    {
        _timeProvider = timeProvider;
        foreach (var worker in new[] { Scheduler, Job, Lifecycle })
        {
            Expect(worker, options.Value.PollInterval);
        }
    }

    /// <summary>Adds a worker that must beat at least every <paramref name="interval"/>.</summary>
    public void Expect(string worker, TimeSpan interval) => _beats.TryAdd(worker, new Entry(null, interval));

    public void Beat(string worker) =>
        _beats.AddOrUpdate(worker, w => new Entry(_timeProvider.GetUtcNow(), TimeSpan.FromSeconds(1)), (_, b) => b with { Last = _timeProvider.GetUtcNow() });

    /// <summary>Each worker: live or not, and why.</summary>
    public IReadOnlyList<(string Worker, bool Live, string Text)> Check()
    {
        var now = _timeProvider.GetUtcNow();
        return [.. _beats.OrderBy(b => b.Key, StringComparer.Ordinal).Select(b =>
        {
            var stale = b.Value.Interval * 3 > s_minStale ? b.Value.Interval * 3 : s_minStale;
            if (b.Value.Last is not { } last)
            {
                return (b.Key, false, "not started");
            }

            var age = now - last;
            return age <= stale
                ? (b.Key, true, "ok")
                : (b.Key, false, $"no heartbeat for {age.TotalSeconds:0} s (stale after {stale.TotalSeconds:0} s)");
        })];
    }

    private sealed record Entry(DateTimeOffset? Last, TimeSpan Interval);
}

using System.Diagnostics.Metrics;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Server.Processing;

namespace GpuDev.Server.Observability;

/// <summary>The server's own instruments (meter <c>GpuDev.Server</c>), exported at <c>/metrics</c> in Prometheus form:
/// <c>gpudev_reservations{status,gpu_type}</c>, <c>gpudev_queue_length{gpu_type}</c>,
/// <c>gpudev_queue_oldest_wait_seconds{gpu_type}</c>, <c>gpudev_gpus{gpu_type,state}</c> (observable gauges read from the
/// store, cached for <see cref="CacheFor"/>), <c>gpudev_job_duration_seconds{kind,outcome}</c> and
/// <c>gpudev_provider_errors_total{provider,operation}</c>.</summary>
internal sealed partial class ServerMetrics
{
    public const string MeterName = "GpuDev.Server";

    /// <summary>How long a store read behind the gauges is reused.</summary>
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private readonly FleetView _fleetView;
    private readonly IReservationStatistics? _statistics;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<ServerMetrics> _logger;
    private readonly Histogram<double> _jobDuration;
    private readonly Counter<long> _providerErrors;
    private readonly Lock _lock = new();
    private Snapshot? _snapshot;

    public ServerMetrics(IMeterFactory meterFactory, FleetView fleetView, TimeProvider timeProvider, ILogger<ServerMetrics> logger, IReservationStatistics? statistics = null)
    {
        _fleetView = fleetView;
        _statistics = statistics;
        _timeProvider = timeProvider;
        _logger = logger;
        var meter = meterFactory.Create(MeterName);
        meter.CreateObservableGauge("gpudev.reservations", () => Current().Reservations, description: "Reservations per status and GPU type (whole history).");
        meter.CreateObservableGauge("gpudev.queue.length", () => Current().QueueLength, description: "Pending and queued reservations per GPU type.");
        meter.CreateObservableGauge("gpudev.queue.oldest_wait", () => Current().OldestWait, unit: "s", description: "Age of the oldest waiting reservation per GPU type (0 when none waits).");
        meter.CreateObservableGauge("gpudev.gpus", () => Current().Gpus, description: "GPUs per type, free or allocated.");
        _jobDuration = meter.CreateHistogram<double>("gpudev.job.duration", unit: "s", description: "Duration of one job run (provision, teardown, warn) by outcome.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120] });
        _providerErrors = meter.CreateCounter<long>("gpudev.provider.errors", description: "Failed compute provider operations.");
    }

    public void JobRan(string kind, string outcome, TimeSpan duration) =>
        _jobDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("kind", kind), new KeyValuePair<string, object?>("outcome", outcome));

    public void ProviderError(string provider, string operation) =>
        _providerErrors.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("operation", operation));

    private Snapshot Current()
    {
        lock (_lock)
        {
            var now = _timeProvider.GetUtcNow();
            if (_snapshot is { } cached && now - cached.At < CacheFor && now >= cached.At)
            {
                return cached;
            }

            try
            {
                _snapshot = LoadAsync(now).GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                LogGaugesUnavailable(_logger, e);
                _snapshot ??= new Snapshot(now, [], [], [], []);
            }

            return _snapshot;
        }
    }

    private async Task<Snapshot> LoadAsync(DateTimeOffset now)
    {
        var fleet = await _fleetView.LoadAsync(CancellationToken.None);
        var types = fleet.Nodes.Select(n => n.GpuType).Concat(fleet.Waiting.Select(w => w.GpuType)).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.Ordinal).ToList();
        var waiting = fleet.Waiting.ToLookup(r => r.GpuType, StringComparer.OrdinalIgnoreCase);
        var queueLength = types.Select(t => new Measurement<long>(waiting[t].Count(), Tag("gpu_type", t))).ToList();
        var oldestWait = types.Select(t => new Measurement<double>(
            waiting[t].Any() ? Math.Max(0, (now - waiting[t].Min(r => r.CreatedAt)).TotalSeconds) : 0, Tag("gpu_type", t))).ToList();
        var nodeType = fleet.Nodes.ToDictionary(n => n.Name, n => n.GpuType, StringComparer.Ordinal);
        var allocated = fleet.Allocations.Where(a => nodeType.ContainsKey(a.Node)).GroupBy(a => nodeType[a.Node], StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.OrdinalIgnoreCase);
        var gpus = new List<Measurement<long>>();
        foreach (var type in fleet.Nodes.Select(n => n.GpuType).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var total = fleet.Nodes.Where(n => string.Equals(n.GpuType, type, StringComparison.OrdinalIgnoreCase)).Sum(n => n.GpuCount);
            var held = allocated.GetValueOrDefault(type);
            gpus.Add(new Measurement<long>(total - held, Tag("gpu_type", type), Tag("state", "free")));
            gpus.Add(new Measurement<long>(held, Tag("gpu_type", type), Tag("state", "allocated")));
        }

        IEnumerable<ReservationCount> counts = _statistics is not null
            ? await _statistics.CountReservationsAsync(CancellationToken.None)
            : fleet.Waiting.Concat(fleet.Running).GroupBy(r => (Status: r.Status.ToWire(), r.GpuType)).Select(g => new ReservationCount(g.Key.Status, g.Key.GpuType, g.Count()));
        var reservations = counts.Select(c => new Measurement<long>(c.Count, Tag("status", c.Status), Tag("gpu_type", c.GpuType))).ToList();
        return new Snapshot(now, reservations, queueLength, oldestWait, gpus);
    }

    private static KeyValuePair<string, object?> Tag(string key, string value) => new(key, value);

    private sealed record Snapshot(
        DateTimeOffset At,
        IReadOnlyList<Measurement<long>> Reservations,
        IReadOnlyList<Measurement<long>> QueueLength,
        IReadOnlyList<Measurement<double>> OldestWait,
        IReadOnlyList<Measurement<long>> Gpus);

    [LoggerMessage(EventId = 2300, Level = LogLevel.Warning, Message = "Could not read the store for the metrics gauges")]
    private static partial void LogGaugesUnavailable(ILogger logger, Exception exception);
}

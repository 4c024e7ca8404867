using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;

namespace GpuDev.Server.Processing;

/// <summary>The <see cref="EndPredictor"/> behind likely starts, learned from the reservations that ended in the last
/// <see cref="Window"/> (the most recent <see cref="Limit"/>) and relearned every <see cref="Refresh"/>: habits change
/// slowly, and a pass must not read the whole history every second.</summary>
internal sealed class EndHistory(TimeProvider timeProvider, IReservationStatistics? statistics = null)
{
    public static readonly TimeSpan Window = TimeSpan.FromDays(90);

    public static readonly TimeSpan Refresh = TimeSpan.FromMinutes(10);

    public const int Limit = 20_000;

    private readonly Refreshed<EndPredictor> _predictor = new(timeProvider, Refresh);

    /// <summary>When each holder in <paramref name="fleet"/> will likely free its GPUs: a running reservation at its likely
    /// end (never after its booked one), anything else (teardown) as the fleet view says.</summary>
    public static Dictionary<string, DateTimeOffset> LikelyEnds(FleetSnapshot fleet, EndPredictor predictor)
    {
        var ends = new Dictionary<string, DateTimeOffset>(fleet.EndsAt, StringComparer.Ordinal);
        foreach (var running in fleet.Running.Where(r => ends.ContainsKey(r.Id)))
        {
            var likely = predictor.LikelyEnd(running.UserId, running.GpuType, running.StartedAt ?? fleet.Now, running.Hours + running.ExtendedHours, fleet.Now);
            ends[running.Id] = likely < ends[running.Id] ? likely : ends[running.Id];
        }

        return ends;
    }

    public async Task<EndPredictor> GetAsync(CancellationToken cancellationToken) => statistics is null
        ? EndPredictor.None
        : await _predictor.GetAsync(async (now, ct) => new EndPredictor(await statistics.ListEndedAsync(now - Window, Limit, ct)), cancellationToken);
}

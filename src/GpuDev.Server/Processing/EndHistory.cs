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

    private readonly SemaphoreSlim _gate = new(1, 1);
    private EndPredictor _predictor = EndPredictor.None;
    private DateTimeOffset? _learnedAt;

    public async Task<EndPredictor> GetAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (statistics is null || (_learnedAt is { } learned && now - learned < Refresh))
        {
            return _predictor;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_learnedAt is not { } again || now - again >= Refresh)
            {
                _predictor = new EndPredictor(await statistics.ListEndedAsync(now - Window, Limit, cancellationToken));
                _learnedAt = now;
            }

            return _predictor;
        }
        finally
        {
            _gate.Release();
        }
    }
}

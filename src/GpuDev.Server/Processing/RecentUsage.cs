using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Server.Reservations;

namespace GpuDev.Server.Processing;

/// <summary>GPU-hours each user used in the last <see cref="Quotas.Window"/> (<see cref="GpuHours.UsedWithin"/>, as
/// <c>gpu-dev usage</c> counts them), for fair-share ordering; recomputed at most every <see cref="Refresh"/>, since a
/// pass runs every second and the order needs no finer figure.</summary>
internal sealed class RecentUsage(IReservationStore store, TimeProvider timeProvider)
{
    public static readonly TimeSpan Refresh = TimeSpan.FromMinutes(1);

    private readonly Refreshed<IReadOnlyDictionary<string, double>> _byUser = new(timeProvider, Refresh);

    public Task<IReadOnlyDictionary<string, double>> GetAsync(CancellationToken cancellationToken) => _byUser.GetAsync(ComputeAsync, cancellationToken);

    private async Task<IReadOnlyDictionary<string, double>> ComputeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var since = now - Quotas.Window;
        var recent = await store.ListReservationsAsync(new ReservationQuery(LiveOrEndedAfter: since), cancellationToken);
        return recent.GroupBy(r => r.UserId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(r => GpuHours.UsedWithin(r, since, now, now)), StringComparer.Ordinal);
    }
}

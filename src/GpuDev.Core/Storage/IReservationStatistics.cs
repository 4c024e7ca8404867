using GpuDev.Core.Scheduling;

namespace GpuDev.Core.Storage;

/// <summary>Aggregates for metrics, answered by the store without loading reservations.</summary>
public interface IReservationStatistics
{
    /// <summary>Reservation counts per status and GPU type, over the whole history.</summary>
    Task<IReadOnlyList<ReservationCount>> CountReservationsAsync(CancellationToken cancellationToken);

    /// <summary>How reservations that ran and ended (cancelled or expired, not failed) since <paramref name="since"/> used
    /// their booking, the most recent <paramref name="limit"/> first: what <see cref="EndPredictor"/> learns from.</summary>
    Task<IReadOnlyList<EndedReservation>> ListEndedAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken);
}

namespace GpuDev.Core.Storage;

/// <summary>Aggregates for metrics, answered by the store without loading reservations.</summary>
public interface IReservationStatistics
{
    /// <summary>Reservation counts per status and GPU type, over the whole history.</summary>
    Task<IReadOnlyList<ReservationCount>> CountReservationsAsync(CancellationToken cancellationToken);
}

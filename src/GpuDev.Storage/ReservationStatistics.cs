using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;

namespace GpuDev.Storage;

/// <summary>The aggregates behind the metrics (<see cref="IReservationStatistics"/>).</summary>
public sealed class ReservationStatistics(SqlDatabase database) : IReservationStatistics
{
    public async Task<IReadOnlyList<ReservationCount>> CountReservationsAsync(CancellationToken cancellationToken)
    {
        var dialect = database.Dialect;
        return await database.QueryAsync(
            $"SELECT status, gpu_type, COUNT(*) FROM reservations GROUP BY status, gpu_type ORDER BY {dialect.ByteOrder("status")}, {dialect.ByteOrder("gpu_type")};",
            r => new ReservationCount(r.GetString(0), r.GetString(1), r.GetInt64(2)), cancellationToken);
    }

    public async Task<IReadOnlyList<EndedReservation>> ListEndedAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken) =>
        await database.QueryAsync(
            """
            SELECT user_id, gpu_type, hours + extended_hours, ended_at - started_at FROM reservations
            WHERE ended_at > @since AND started_at IS NOT NULL AND status IN ('cancelled', 'expired')
            ORDER BY ended_at DESC LIMIT @limit;
            """,
            r => new EndedReservation(r.GetString(0), r.GetString(1), r.GetDouble(2), Math.Max(0, r.GetInt64(3)) / 3_600_000.0),
            cancellationToken, ("since", SqlTime.ToMs(since)), ("limit", limit));
}

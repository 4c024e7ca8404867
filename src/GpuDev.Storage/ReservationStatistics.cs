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
}

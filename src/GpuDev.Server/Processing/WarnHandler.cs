using GpuDev.Core.Compute;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;

namespace GpuDev.Server.Processing;

/// <summary>Delivers recorded expiry warnings (file in the home + message on open terminals), then marks them
/// delivered. A crash between the two repeats the delivery once; the threshold itself is recorded only once.</summary>
internal sealed partial class WarnHandler(IReservationStore store, IComputeProvider provider, TimeProvider timeProvider, ILogger<WarnHandler> logger)
{
    public async Task<JobOutcome> HandleAsync(Job job, CancellationToken cancellationToken)
    {
        var reservation = await store.GetReservationAsync(job.ReservationId, cancellationToken);
        if (reservation is not { Status: ReservationStatus.Active })
        {
            return JobOutcome.Done;
        }

        foreach (var warning in reservation.Warnings.Where(w => w is { Message: not null, DeliveredAt: null }))
        {
            await provider.DeliverWarningAsync(reservation.Id, $"EXPIRES_IN_{warning.MinutesBefore}_MIN", warning.Message!, cancellationToken);
            await store.MarkWarningDeliveredAsync(reservation.Id, warning.MinutesBefore, timeProvider.GetUtcNow(), cancellationToken);
            LogWarned(logger, reservation.Id, warning.MinutesBefore);
        }

        return JobOutcome.Done;
    }

    [LoggerMessage(EventId = 1800, Level = LogLevel.Information, Message = "Reservation {ReservationId} warned: {Minutes} minutes before expiry")]
    private static partial void LogWarned(ILogger logger, string reservationId, int minutes);
}

using GpuDev.Core.Audit;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;

namespace GpuDev.Server.Audit;

/// <summary>Where workers report the reservation status changes they made (actor <c>system:&lt;worker&gt;</c>).
/// Written after the transition committed; a failure to record is logged, never thrown.</summary>
internal sealed partial class AuditTrail(IAuditLog audit, ILogger<AuditTrail> logger)
{
    public const string Scheduler = "system:scheduler";
    public const string Job = "system:job";
    public const string Lifecycle = "system:lifecycle";
    public const string ProviderEvents = "system:provider-events";

    public async Task TransitionedAsync(string actor, ReservationTransition transition)
    {
        var entry = new AuditEntry(transition.At, actor, $"transition {transition.From.ToWire()}->{transition.To.ToWire()}",
            transition.ReservationId, StatusCodes.Status200OK, transition.Reason, null);
        try
        {
            await audit.RecordAsync(entry, CancellationToken.None);
        }
        catch (Exception e)
        {
            LogRecordFailed(logger, transition.ReservationId, e);
        }
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Error, Message = "Could not record the audit entry for the transition of {ReservationId}")]
    private static partial void LogRecordFailed(ILogger logger, string reservationId, Exception exception);
}

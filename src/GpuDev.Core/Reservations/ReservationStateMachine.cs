namespace GpuDev.Core.Reservations;

/// <summary>The one place that says which status changes are legal.</summary>
public static class ReservationStateMachine
{
    private static readonly Dictionary<ReservationStatus, ReservationStatus[]> s_allowed = new()
    {
        [ReservationStatus.Pending] = [ReservationStatus.Queued, ReservationStatus.Preparing, ReservationStatus.Cancelled, ReservationStatus.Failed],
        [ReservationStatus.Queued] = [ReservationStatus.Preparing, ReservationStatus.Cancelled, ReservationStatus.Failed],
        [ReservationStatus.Preparing] = [ReservationStatus.Active, ReservationStatus.Cancelled, ReservationStatus.Failed, ReservationStatus.Expired],
        [ReservationStatus.Active] = [ReservationStatus.Expired, ReservationStatus.Cancelled, ReservationStatus.Failed],
        [ReservationStatus.Expired] = [],
        [ReservationStatus.Cancelled] = [],
        [ReservationStatus.Failed] = [],
    };

    public static bool CanTransition(ReservationStatus from, ReservationStatus to) =>
        s_allowed.TryGetValue(from, out var targets) && Array.IndexOf(targets, to) >= 0;

    public static bool IsTerminal(this ReservationStatus status) =>
        status is ReservationStatus.Expired or ReservationStatus.Cancelled or ReservationStatus.Failed;

    /// <summary>Statuses in which a reservation holds (or may soon hold) GPUs.</summary>
    public static bool IsLive(this ReservationStatus status) => !status.IsTerminal();

    public static string ToWire(this ReservationStatus status) => status switch
    {
        ReservationStatus.Pending => "pending",
        ReservationStatus.Queued => "queued",
        ReservationStatus.Preparing => "preparing",
        ReservationStatus.Active => "active",
        ReservationStatus.Expired => "expired",
        ReservationStatus.Cancelled => "cancelled",
        ReservationStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    public static bool TryParseWire(string? value, out ReservationStatus status)
    {
        foreach (var candidate in Enum.GetValues<ReservationStatus>())
        {
            if (string.Equals(candidate.ToWire(), value, StringComparison.OrdinalIgnoreCase))
            {
                status = candidate;
                return true;
            }
        }

        status = default;
        return false;
    }

    public static IEnumerable<string> WireNames => Enum.GetValues<ReservationStatus>().Select(s => s.ToWire());
}

namespace GpuDev.Core.Reservations;

/// <summary>The seed's "Reservation Limits" beyond the request rules: one extension of up to 24 h, 48 h in all,
/// and warnings 30, 15 and 5 minutes before the end.</summary>
public static class ReservationLimits
{
    public const double MaxExtensionHours = 24;
    public const double MaxTotalHours = 48;
    public static readonly IReadOnlyList<int> WarningMinutes = [30, 15, 5];

    /// <summary>Why an extension by <paramref name="hours"/> is refused, or null when it is allowed.
    /// The code is "validation" for a bad number and "conflict" for a rule of the reservation's history.</summary>
    public static (string Code, string Message)? CheckExtension(Reservation reservation, double hours)
    {
        if (double.IsNaN(hours) || hours <= 0 || hours > MaxExtensionHours)
        {
            return ("validation", $"An extension adds more than 0 and at most {MaxExtensionHours:0} hours; got {hours}.");
        }

        if (reservation.ExtendedHours > 0)
        {
            return ("conflict", $"Reservation {reservation.Id[..8]} was already extended (by {reservation.ExtendedHours:0.##} h); a reservation can be extended once.");
        }

        return reservation.Hours + hours > MaxTotalHours
            ? ("conflict", $"Extending by {hours:0.##} h would make the reservation last {reservation.Hours + hours:0.##} h; the total is at most {MaxTotalHours:0} h.")
            : null;
    }

    /// <summary>The warning thresholds due at <paramref name="now"/> and not yet recorded; the smallest is the one to
    /// deliver. A threshold at or above what the reservation had left when its term began (when it became active, or when
    /// it was extended) is skipped: a 30-minute reservation never hears "30 minutes left" as it starts, a 5-minute one
    /// hears nothing, and after an extension every threshold below the new time left applies again.</summary>
    public static IReadOnlyList<int> DueWarnings(Reservation reservation, DateTimeOffset now)
    {
        if (reservation is not { Status: ReservationStatus.Active, ExpiresAt: { } end } || now >= end)
        {
            return [];
        }

        var left = end - now;
        var term = TermLength(reservation);
        var recorded = reservation.Warnings.Select(w => w.MinutesBefore).ToHashSet();
        return [.. WarningMinutes.Where(m => TimeSpan.FromMinutes(m) < term && left <= TimeSpan.FromMinutes(m) && !recorded.Contains(m)).OrderBy(m => m)];
    }

    /// <summary>What the reservation had left when its current term began: from the extension, else from the start.</summary>
    private static TimeSpan TermLength(Reservation reservation) =>
        reservation.ExpiresAt!.Value - (reservation.ExtendedAt ?? reservation.StartedAt ?? reservation.ExpiresAt.Value - TimeSpan.FromHours(reservation.Hours));
}

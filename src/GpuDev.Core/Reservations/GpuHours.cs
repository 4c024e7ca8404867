namespace GpuDev.Core.Reservations;

/// <summary>The one place that says how many GPU-hours a reservation booked and used, so the quota
/// (<c>Quotas:MaxGpuHoursPerWeek</c>) and the usage report (<c>gpu-dev usage</c>) cannot drift apart.
/// A reservation holds its GPUs from when it started (became active) to when it ended, or to now while it is
/// live; its booked term is the same start plus the hours asked for and the extension. A reservation that never
/// started (pending, queued, cancelled or failed before it was ready) has neither.</summary>
public static class GpuHours
{
    /// <summary>GPUs × hours asked for, extension included, whether or not it has started (what the quota charges a live
    /// request with).</summary>
    public static double Booked(Reservation reservation) => reservation.GpuCount * BookedHours(reservation);

    /// <summary>GPUs × the time it held them, from start to end (or <paramref name="now"/> while live); 0 if it never started.</summary>
    public static double Used(Reservation reservation, DateTimeOffset now) =>
        Within(reservation.GpuCount, Held(reservation, now), DateTimeOffset.MinValue, DateTimeOffset.MaxValue);

    /// <summary>GPUs × the part of its booked term (start to start + booked hours) between <paramref name="from"/> and
    /// <paramref name="to"/>; 0 if it never started.</summary>
    public static double BookedWithin(Reservation reservation, DateTimeOffset from, DateTimeOffset to) =>
        Within(reservation.GpuCount, reservation.StartedAt is { } started ? (started, started + TimeSpan.FromHours(BookedHours(reservation))) : null, from, to);

    /// <summary>GPUs × the part of the time it held them (see <see cref="Used"/>) between <paramref name="from"/> and
    /// <paramref name="to"/>; 0 if it never started.</summary>
    public static double UsedWithin(Reservation reservation, DateTimeOffset from, DateTimeOffset to, DateTimeOffset now) =>
        Within(reservation.GpuCount, Held(reservation, now), from, to);

    private static double BookedHours(Reservation reservation) => reservation.Hours + reservation.ExtendedHours;

    private static (DateTimeOffset Start, DateTimeOffset End)? Held(Reservation reservation, DateTimeOffset now) =>
        reservation.StartedAt is { } started ? (started, reservation.EndedAt ?? now) : null;

    private static double Within(int gpus, (DateTimeOffset Start, DateTimeOffset End)? span, DateTimeOffset from, DateTimeOffset to)
    {
        if (span is not { } s)
        {
            return 0;
        }

        var start = s.Start > from ? s.Start : from;
        var end = s.End < to ? s.End : to;
        return end > start ? gpus * (end - start).TotalHours : 0;
    }
}

namespace GpuDev.Core.Scheduling;

/// <summary>How one past reservation actually ended, for <see cref="EndPredictor"/>: it booked
/// <paramref name="BookedHours"/> (extensions included) and held its GPUs for <paramref name="UsedHours"/>.</summary>
public sealed record EndedReservation(string UserId, string GpuType, double BookedHours, double UsedHours)
{
    /// <summary>Used ÷ booked, in [0, 1] (a reservation cannot outlive its booking; a zero booking counts as fully used).</summary>
    public double UsedFraction => BookedHours > 0 ? Math.Clamp(UsedHours / BookedHours, 0, 1) : 1;
}

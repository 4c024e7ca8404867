using GpuDev.Core.Reservations;

namespace GpuDev.Core.Tests.Reservations;

/// <summary><see cref="ReservationLimits.DueWarnings"/>: a threshold at or above what a reservation had left when its term
/// began (activation, or the extension) is skipped; the others come due when the time left reaches them.</summary>
public sealed class ExpiryWarningRulesTests
{
    private static readonly DateTimeOffset s_start = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    private static Reservation Active(double hours, double extendedHours = 0, DateTimeOffset? extendedAt = null, params int[] recorded) => new()
    {
        Id = "0123456789abcdef0123456789abcdef",
        UserId = "u",
        UserName = "alice",
        GpuType = "h100",
        GpuCount = 1,
        Hours = hours,
        Status = ReservationStatus.Active,
        CreatedAt = s_start,
        StartedAt = s_start,
        ExpiresAt = s_start + TimeSpan.FromHours(hours + extendedHours),
        ExtendedHours = extendedHours,
        ExtendedAt = extendedAt,
        Warnings = [.. recorded.Select(m => new ExpiryWarning(m, s_start, null, null))],
    };

    private static IReadOnlyList<int> DueAfter(Reservation reservation, TimeSpan elapsed) =>
        ReservationLimits.DueWarnings(reservation, s_start + elapsed);

    [Fact]
    public void HalfHour_AtStart_No30MinuteWarning_15And5Later()
    {
        var reservation = Active(hours: 0.5);

        Assert.Empty(DueAfter(reservation, TimeSpan.FromSeconds(1)));
        Assert.Empty(DueAfter(reservation, TimeSpan.FromMinutes(14.9)));
        Assert.Equal([15], DueAfter(reservation, TimeSpan.FromMinutes(15)));
        Assert.Equal([5, 15], DueAfter(reservation, TimeSpan.FromMinutes(26)));
        Assert.Equal([5], DueAfter(Active(0.5, recorded: 15), TimeSpan.FromMinutes(26)));
    }

    [Fact]
    public void FiveMinutes_NoWarningAtAll()
    {
        var reservation = Active(hours: 5.0 / 60);

        Assert.Empty(DueAfter(reservation, TimeSpan.FromSeconds(1)));
        Assert.Empty(DueAfter(reservation, TimeSpan.FromMinutes(4.9)));
    }

    [Fact]
    public void SixMinutes_Only5MinuteWarning()
    {
        var reservation = Active(hours: 0.1);

        Assert.Empty(DueAfter(reservation, TimeSpan.FromSeconds(1)));
        Assert.Equal([5], DueAfter(reservation, TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public void OneHour_AllThreeThresholds()
    {
        var reservation = Active(hours: 1);

        Assert.Empty(DueAfter(reservation, TimeSpan.FromMinutes(29.9)));
        Assert.Equal([30], DueAfter(reservation, TimeSpan.FromMinutes(30)));
        Assert.Equal([5, 15, 30], DueAfter(reservation, TimeSpan.FromMinutes(56)));
    }

    [Fact]
    public void Extended_ThresholdsBelowTheNewTimeLeftApplyAgain()
    {
        // 30 minutes, extended by 1 h after 20: 1 h 10 min left, so even the 30-minute warning (skipped at the start) applies.
        var extendedAt = s_start + TimeSpan.FromMinutes(20);
        var reservation = Active(hours: 0.5, extendedHours: 1, extendedAt: extendedAt);

        Assert.Empty(DueAfter(reservation, TimeSpan.FromMinutes(20)));
        Assert.Equal([30], DueAfter(reservation, TimeSpan.FromMinutes(60)));
    }

    [Fact]
    public void Extended_ShortlyBeforeTheEnd_SkipsThresholdsAboveTheNewTimeLeft()
    {
        // 1 hour, extended by 6 minutes with 10 left: 16 minutes left, so 30 is skipped, 15 and 5 apply.
        var extendedAt = s_start + TimeSpan.FromMinutes(50);
        var reservation = Active(hours: 1, extendedHours: 0.1, extendedAt: extendedAt);

        Assert.Empty(DueAfter(reservation, TimeSpan.FromMinutes(50) + TimeSpan.FromSeconds(1)));
        Assert.Equal([15], DueAfter(reservation, TimeSpan.FromMinutes(51)));
        Assert.Equal([5, 15], DueAfter(reservation, TimeSpan.FromMinutes(62)));
    }
}

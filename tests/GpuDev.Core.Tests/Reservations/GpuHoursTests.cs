using GpuDev.Core.Reservations;

namespace GpuDev.Core.Tests.Reservations;

/// <summary><see cref="GpuHours"/>: booked is GPUs × (hours + extension) over the term from the start; used is GPUs × the
/// time from start to end (or now); a window clips both; a reservation that never started has neither.</summary>
public sealed class GpuHoursTests
{
    private static readonly DateTimeOffset s_start = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    private static Reservation Started(int gpus, double hours, double extended = 0, TimeSpan? endedAfter = null) => new()
    {
        Id = "0123456789abcdef0123456789abcdef",
        UserId = "u",
        UserName = "alice",
        GpuType = "h100",
        GpuCount = gpus,
        Hours = hours,
        ExtendedHours = extended,
        Status = endedAfter is null ? ReservationStatus.Active : ReservationStatus.Cancelled,
        CreatedAt = s_start.AddMinutes(-5),
        StartedAt = s_start,
        EndedAt = s_start + endedAfter,
    };

    [Fact]
    public void BookedAndUsed_Unclipped_HoursWithExtensionAndHeldTime()
    {
        var live = Started(gpus: 4, hours: 2, extended: 1);
        var ended = Started(gpus: 2, hours: 4, endedAfter: TimeSpan.FromMinutes(90));

        Assert.Equal(12, GpuHours.Booked(live));
        Assert.Equal(6, GpuHours.Used(live, s_start.AddHours(1.5)));
        Assert.Equal(8, GpuHours.Booked(ended));
        Assert.Equal(3, GpuHours.Used(ended, s_start.AddDays(2)));
    }

    [Fact]
    public void Within_Window_ClipsAtBothEnds_BookedTermIncludesExtension()
    {
        var live = Started(gpus: 4, hours: 2, extended: 1);
        var now = s_start.AddHours(2);

        Assert.Equal(4 * 2.5, GpuHours.BookedWithin(live, s_start.AddMinutes(30), DateTimeOffset.MaxValue));
        Assert.Equal(4 * 1.5, GpuHours.UsedWithin(live, s_start.AddMinutes(30), now, now));
        Assert.Equal(4 * 1, GpuHours.UsedWithin(live, s_start.AddMinutes(30), s_start.AddMinutes(90), now));
        Assert.Equal(0, GpuHours.BookedWithin(live, s_start.AddHours(3), DateTimeOffset.MaxValue));
        Assert.Equal(0, GpuHours.UsedWithin(Started(2, 4, endedAfter: TimeSpan.FromHours(1)), s_start.AddHours(1), now, now));
    }

    [Fact]
    public void NeverStarted_NothingUsedOrBookedInAWindow_ButItsRequestIsBooked()
    {
        var queued = Started(gpus: 8, hours: 1) with { Status = ReservationStatus.Queued, StartedAt = null };

        Assert.Equal(0, GpuHours.Used(queued, s_start.AddHours(1)));
        Assert.Equal(0, GpuHours.UsedWithin(queued, DateTimeOffset.MinValue, s_start.AddHours(1), s_start.AddHours(1)));
        Assert.Equal(0, GpuHours.BookedWithin(queued, DateTimeOffset.MinValue, DateTimeOffset.MaxValue));
        Assert.Equal(8, GpuHours.Booked(queued));
    }
}

using GpuDev.Core.Scheduling;

namespace GpuDev.Core.Tests.Scheduling;

public sealed class EndPredictorTests
{
    private static readonly DateTimeOffset s_now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    /// <summary><paramref name="count"/> past reservations of <paramref name="user"/> that used these fractions in turn.</summary>
    private static IEnumerable<EndedReservation> Ended(string user, int count, double booked, params double[] fractions) =>
        Enumerable.Range(0, count).Select(i => new EndedReservation(user, "h100", booked, booked * fractions[i % fractions.Length]));

    [Fact]
    public void LikelyFraction_NoHistory_IsTheWholeBooking()
    {
        Assert.Equal(1, EndPredictor.None.LikelyFraction("alice", "h100", 4));
        Assert.Equal(s_now.AddHours(3), EndPredictor.None.LikelyEnd("alice", "h100", s_now.AddHours(-1), 4, s_now));
    }

    [Fact]
    public void LikelyFraction_NewUser_GetsTheSitesMedian()
    {
        var predictor = new EndPredictor(Ended("bob", 99, 4, 0.2, 0.4, 0.6));

        Assert.Equal(0.4, predictor.LikelyFraction("newcomer", "h100", 4), 6);
    }

    [Fact]
    public void LikelyFraction_RegularUser_MostlyTheirOwnHabit_NewUserTheSites()
    {
        var predictor = new EndPredictor([.. Ended("site", 500, 4, 0.8, 0.85, 0.9), .. Ended("alice", 50, 4, 0.2, 0.25)]);

        var alice = predictor.LikelyFraction("alice", "h100", 4);
        var newcomer = predictor.LikelyFraction("newcomer", "h100", 4);

        Assert.InRange(alice, 0.19, 0.26);
        Assert.InRange(newcomer, 0.8, 0.9);
    }

    [Fact]
    public void LikelyFraction_FewOwnReservations_ShrinksTowardTheSite()
    {
        // Two of her own (weight 2 / 7) cannot outvote the site: the median stays among the site's values.
        var predictor = new EndPredictor([.. Ended("site", 500, 4, 0.8), .. Ended("alice", 2, 4, 0.1)]);

        Assert.Equal(0.8, predictor.LikelyFraction("alice", "h100", 4), 6);
    }

    [Fact]
    public void LikelyFraction_AlreadyRunning_IsTheMedianOfLaterEnds()
    {
        var fractions = Enumerable.Range(1, 100).Select(i => i / 100.0).ToArray();
        var predictor = new EndPredictor(Ended("site", 100, 4, fractions));

        Assert.Equal(0.5, predictor.LikelyFraction("x", "h100", 4), 6);
        Assert.Equal(0.8, predictor.LikelyFraction("x", "h100", 4, elapsedFraction: 0.6), 6);
        Assert.Equal(1, predictor.LikelyFraction("x", "h100", 4, elapsedFraction: 0.995), 6);
    }

    [Fact]
    public void LikelyFraction_BookingLength_LearnsShortAndLongBookingsApart()
    {
        var predictor = new EndPredictor([.. Ended("site", 40, 1, 0.9), .. Ended("site", 40, 24, 0.3)]);

        Assert.Equal(0.9, predictor.LikelyFraction("x", "h100", 0.5), 6);
        Assert.Equal(0.3, predictor.LikelyFraction("x", "h100", 20), 6);
    }

    [Fact]
    public void LikelyEnd_RunningPastItsLikelyEnd_IsLaterThanNowAndNeverPastTheBooking()
    {
        var predictor = new EndPredictor(Ended("site", 50, 4, 0.25));

        // Booked 4 h, started 3 h ago: every past reservation had ended by 1 h, so all that is left is the booking.
        var end = predictor.LikelyEnd("x", "h100", s_now.AddHours(-3), 4, s_now);
        Assert.Equal(s_now.AddHours(1), end);

        // Started 30 min ago: likely ends at 1 h in (to the bisection's precision).
        var early = predictor.LikelyEnd("x", "h100", s_now.AddMinutes(-30), 4, s_now);
        Assert.InRange(early, s_now.AddMinutes(30), s_now.AddMinutes(30).AddMilliseconds(1));
    }

    [Fact]
    public void LikelyDuration_IsTheBookingTimesTheLikelyFraction()
    {
        var predictor = new EndPredictor(Ended("site", 30, 8, 0.5));

        Assert.Equal(TimeSpan.FromHours(4), predictor.LikelyDuration("x", "h100", 8));
    }
}

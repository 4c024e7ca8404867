namespace GpuDev.Core.Scheduling;

/// <summary>When a reservation will probably end, learned from how past ones ended: the empirical distribution of used ÷
/// booked time. A user's own history is blended with the site's (reservations of the same GPU type and booking length)
/// by a pseudo-count, so a new user gets the site's habits and a regular mostly their own; with no history at all the
/// prediction is the booking itself (the guaranteed end). For a reservation already running, the distribution is
/// conditioned on its having lasted so far (only ends later than now remain), so a long-running one is not predicted to
/// have ended already. The prediction is the median of what remains. Pure, immutable, thread-safe.</summary>
public sealed class EndPredictor
{
    /// <summary>How many of the user's own reservations weigh as much as the site's history (empirical Bayes shrinkage):
    /// with n of their own, their share is n ÷ (n + this).</summary>
    public const int UserPseudoCount = 5;

    /// <summary>A site group (GPU type and booking length, then GPU type) is used once it has this many samples;
    /// smaller groups fall back to the wider one.</summary>
    public const int MinGroupSamples = 20;

    private static readonly double[] s_lengthBounds = [1, 4, 12];

    private readonly Dictionary<string, double[]> _byUser;
    private readonly Dictionary<(string Type, int Length), double[]> _byTypeLength;
    private readonly Dictionary<string, double[]> _byType;
    private readonly double[] _all;

    public EndPredictor(IEnumerable<EndedReservation> history)
    {
        var samples = history.ToList();
        _byUser = Sorted(samples.GroupBy(s => s.UserId, StringComparer.Ordinal), StringComparer.Ordinal);
        _byType = Sorted(samples.GroupBy(s => s.GpuType, StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
        _byTypeLength = samples.GroupBy(s => (Type: s.GpuType.ToLowerInvariant(), Length: LengthBucket(s.BookedHours)))
            .ToDictionary(g => g.Key, g => g.Select(s => s.UsedFraction).Order().ToArray());
        _all = [.. samples.Select(s => s.UsedFraction).Order()];
    }

    /// <summary>No history: every prediction is the booking.</summary>
    public static EndPredictor None { get; } = new([]);

    /// <summary>Past reservations it learned from.</summary>
    public int Samples => _all.Length;

    /// <summary>The likely fraction of a <paramref name="bookedHours"/> booking used, given that
    /// <paramref name="elapsedFraction"/> of it has run already (0 for one not started); in (elapsed, 1].</summary>
    public double LikelyFraction(string userId, string gpuType, double bookedHours, double elapsedFraction = 0)
    {
        var elapsed = Math.Max(0, elapsedFraction);
        var site = Site(gpuType, bookedHours);
        if (site.Length == 0 || elapsed >= 1)
        {
            return 1;
        }

        var own = _byUser.GetValueOrDefault(userId) ?? [];
        var ownShare = own.Length / (double)(own.Length + UserPseudoCount);
        var ownWeight = own.Length == 0 ? 0 : ownShare / own.Length;
        var siteWeight = (1 - ownShare) / site.Length;

        // Weight of the samples in (elapsed, x]: what remains of the distribution once the reservation has lasted this long.
        double Between(double x) => (ownWeight * (Above(own, elapsed) - Above(own, x))) + (siteWeight * (Above(site, elapsed) - Above(site, x)));
        var remaining = Between(1);
        if (remaining <= 0)
        {
            return 1;
        }

        // The weighted median of what remains, by bisection on the fraction (the sample arrays are sorted).
        var (lo, hi) = (elapsed, 1.0);
        for (var i = 0; i < 40 && hi - lo > 1e-9; i++)
        {
            var mid = (lo + hi) / 2;
            if (Between(mid) >= remaining / 2)
            {
                hi = mid;
            }
            else
            {
                lo = mid;
            }
        }

        return hi;
    }

    /// <summary>The likely end of a reservation that started at <paramref name="startedAt"/> for <paramref name="bookedHours"/>
    /// (extensions included), seen at <paramref name="now"/>: never before now, never after the booking.</summary>
    public DateTimeOffset LikelyEnd(string userId, string gpuType, DateTimeOffset startedAt, double bookedHours, DateTimeOffset now)
    {
        var booked = TimeSpan.FromHours(bookedHours);
        var bookedEnd = startedAt + booked;
        if (bookedHours <= 0 || bookedEnd <= now)
        {
            return bookedEnd;
        }

        var elapsed = now > startedAt ? (now - startedAt) / booked : 0;
        var end = startedAt + (booked * LikelyFraction(userId, gpuType, bookedHours, elapsed));
        var soonest = now + TimeSpan.FromMilliseconds(1);
        return end < soonest ? soonest : end > bookedEnd ? bookedEnd : end;
    }

    /// <summary>The likely run time of a request not started yet.</summary>
    public TimeSpan LikelyDuration(string userId, string gpuType, double bookedHours) =>
        TimeSpan.FromHours(bookedHours * LikelyFraction(userId, gpuType, bookedHours));

    private double[] Site(string gpuType, double bookedHours)
    {
        if (_byTypeLength.TryGetValue((gpuType.ToLowerInvariant(), LengthBucket(bookedHours)), out var byLength) && byLength.Length >= MinGroupSamples)
        {
            return byLength;
        }

        return _byType.TryGetValue(gpuType, out var byType) && byType.Length >= MinGroupSamples ? byType : _all;
    }

    /// <summary>Bookings of up to 1 h, 4 h, 12 h, and longer: people book short and long runs differently.</summary>
    private static int LengthBucket(double hours)
    {
        var i = 0;
        while (i < s_lengthBounds.Length && hours > s_lengthBounds[i])
        {
            i++;
        }

        return i;
    }

    /// <summary>How many of the sorted <paramref name="sorted"/> are greater than <paramref name="x"/>.</summary>
    private static int Above(double[] sorted, double x)
    {
        var (lo, hi) = (0, sorted.Length);
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] <= x)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return sorted.Length - lo;
    }

    private static Dictionary<string, double[]> Sorted(IEnumerable<IGrouping<string, EndedReservation>> groups, StringComparer comparer) =>
        groups.ToDictionary(g => g.Key, g => g.Select(s => s.UsedFraction).Order().ToArray(), comparer);
}

using CsCheck;
using GpuDev.Core.Scheduling;

namespace GpuDev.Core.Tests.Scheduling;

public sealed class NodeProfileTests
{
    private const long Now = 1_000_000;

    /// <summary>Bookings of 1 to 8 GPUs over [Now, Now + 100) on a node of 4 or 8 GPUs (some more than it has free, as
    /// with holders beyond a node's size), then lengths and GPU counts to ask about.</summary>
    private static readonly Gen<(int Capacity, (int From, int Length, int Gpus)[] Bookings, int Gpus, long[] Lengths)> s_case =
        from capacity in Gen.Frequency((1, 4), (1, 8))
        from bookings in Gen.Select(Gen.Int[0, 99], Gen.Int[1, 40], Gen.Int[1, 8]).Array[0, 12]
        from gpus in Gen.Int[0, 9]
        from lengths in Gen.Long[1, 150].Array[1, 6]
        select (capacity, bookings, gpus, lengths);

    /// <summary>One walk answers every length as <see cref="NodeProfile.EarliestFit"/> from the start does, with the GPUs
    /// free at that start (what <see cref="StartIndex"/> keys on).</summary>
    [Fact]
    public void EarliestRuns_AnyProfile_MatchesEarliestFitPerLength()
    {
        s_case.Sample(c =>
        {
            var profile = new NodeProfile("n", c.Capacity, Now);
            foreach (var (from, length, gpus) in c.Bookings)
            {
                profile.Reserve(Now + from, Now + from + length, gpus, "h");
            }

            var lengths = c.Lengths.Order().ToArray();
            var starts = new long[lengths.Length];
            var frees = new int[lengths.Length];

            profile.EarliestRuns(c.Gpus, lengths, starts, frees);

            for (var i = 0; i < lengths.Length; i++)
            {
                var expected = profile.EarliestFit(c.Gpus, lengths[i], Now, long.MaxValue);
                Assert.Equal(expected < 0 ? long.MaxValue : expected, starts[i]);
                Assert.Equal(expected < 0 ? int.MaxValue : profile.FreeAt(expected), frees[i]);
            }
        }, iter: 2000);
    }
}

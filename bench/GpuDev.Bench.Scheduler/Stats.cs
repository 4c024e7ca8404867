namespace GpuDev.Bench.Scheduler;

internal static class Stats
{
    /// <summary>Median of an ascending list.</summary>
    public static double Median(IReadOnlyList<double> sorted) => sorted.Count == 0
        ? double.NaN
        : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;

    /// <summary>Nearest-rank percentile (0 &lt; p ≤ 100) of an ascending list.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p) => sorted.Count == 0
        ? double.NaN
        : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];

    public static double Mean(IReadOnlyCollection<double> values) => values.Count == 0 ? double.NaN : values.Average();

    /// <summary>A value drawn with the given integer weights.</summary>
    public static int Pick(Random rng, (int Value, int Weight)[] choices)
    {
        var total = choices.Sum(c => c.Weight);
        var x = rng.Next(total);
        foreach (var (value, weight) in choices)
        {
            if (x < weight)
            {
                return value;
            }

            x -= weight;
        }

        return choices[^1].Value;
    }
}

using System.Globalization;

namespace GpuDev.Cli;

/// <summary>The <c>--since</c> value of <c>admin audit</c> and <c>usage</c>, checked here so a typo is a usage error
/// before anything is sent: an age back from now, or a UTC date or time.</summary>
internal static class SinceText
{
    public const string Rule = "a UTC date or time (2026-11-01, 2026-11-01T08:00:00Z) or an age (30m, 24h, 7d)";

    /// <summary>An age (<c>90s</c>, <c>30m</c>, <c>24h</c>, <c>7d</c>) back from <paramref name="now"/>, or a UTC date/time; null if neither.</summary>
    public static DateTimeOffset? Parse(string text, DateTimeOffset now)
    {
        text = text.Trim();
        if (text.Length >= 2 && CliNumbers.TryParseCount(text[..^1], out var n))
        {
            return char.ToLowerInvariant(text[^1]) switch
            {
                's' => now.AddSeconds(-n),
                'm' => now.AddMinutes(-n),
                'h' => now.AddHours(-n),
                'd' => now.AddDays(-n),
                _ => null,
            };
        }

        return text.Contains('-', StringComparison.Ordinal)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : null;
    }
}

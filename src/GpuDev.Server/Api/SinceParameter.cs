using System.Globalization;

namespace GpuDev.Server.Api;

/// <summary>The <c>since</c> query parameter of the audit log and the usage report, read one way for both: an absolute
/// UTC date or time, or an age counted back from the server's now.</summary>
internal static class SinceParameter
{
    /// <summary>The valid values, for the 400 answer to anything else.</summary>
    public const string Rule = "give an RFC 3339 time (2026-11-01T08:00:00Z), a UTC date (2026-11-01) or an age: a whole number with s, m, h or d (90s, 30m, 24h, 7d)";

    /// <summary>An absolute UTC date/time, or an age (<c>90s</c>, <c>30m</c>, <c>24h</c>, <c>7d</c>) counted back from <paramref name="now"/>.</summary>
    public static bool TryParse(string value, DateTimeOffset now, out DateTimeOffset since)
    {
        since = default;
        value = value.Trim();
        if (value.Length >= 2 && char.IsAsciiLetter(value[^1])
            && int.TryParse(value.AsSpan(0, value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            TimeSpan? age = char.ToLowerInvariant(value[^1]) switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => null,
            };
            if (age is { } a && a <= TimeSpan.FromDays(36500))
            {
                since = now - a;
                return true;
            }

            return false;
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out since)
            && value.Any(char.IsAsciiDigit) && value.Contains('-', StringComparison.Ordinal);
    }
}

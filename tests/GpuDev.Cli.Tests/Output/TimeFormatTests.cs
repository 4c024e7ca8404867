using GpuDev.Cli.Output;

namespace GpuDev.Cli.Tests;

/// <summary>Every absolute time a person reads carries its day when it is not today, in their zone, with the zone's name.</summary>
public sealed class TimeFormatTests
{
    private static readonly TimeZoneInfo s_berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
    private static readonly DateTimeOffset s_now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero); // Monday, 13:00 in Berlin

    [Theory]
    [InlineData("2026-12-07T14:20:00Z", "15:20 CET")]
    [InlineData("2026-12-07T22:59:00Z", "23:59 CET")]
    [InlineData("2026-12-07T23:00:00Z", "tomorrow 00:00 CET")]
    [InlineData("2026-12-06T22:00:00Z", "yesterday 23:00 CET")]
    [InlineData("2026-12-15T08:00:00Z", "Tue 15 Dec 09:00 CET")]
    [InlineData("2027-07-01T08:00:00Z", "Thu 1 Jul 2027 10:00 CEST")]
    public void LocalTime_InBerlin(string utc, string expected)
    {
        Format.Zone = s_berlin;

        Assert.Equal(expected, Format.LocalTime(DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture), s_now));
    }

    [Fact]
    public void LocalTime_Utc_AndAZoneWithoutAnAbbreviation()
    {
        Format.Zone = TimeZoneInfo.Utc;
        Assert.Equal("tomorrow 09:00 UTC", Format.LocalTime(s_now.AddHours(21), s_now));

        Format.Zone = TimeZoneInfo.CreateCustomTimeZone("test/kolkata", TimeSpan.FromHours(5.5), "India Standard Time", "India Standard Time");
        Assert.Equal("17:30 UTC+05:30", Format.LocalTime(s_now, s_now));
    }

    [Fact]
    public void Humanize_ServerTextWithAUtcTime_ShowsTheDayZoneAndHowLong()
    {
        Format.Zone = s_berlin;

        var text = Format.Humanize("no node has 8 free h100; 8 free at 2026-12-08T21:42:00Z when 1234abcd ends", s_now);

        Assert.Equal("no node has 8 free h100; 8 free at tomorrow 22:42 CET (in 1d 9h) when 1234abcd ends", text);
        Assert.Equal("no times here", Format.Humanize("no times here", s_now));
    }
}

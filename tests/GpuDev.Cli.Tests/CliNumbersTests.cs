namespace GpuDev.Cli.Tests;

public sealed class CliNumbersTests
{
    [Theory]
    [InlineData("1", 1.0)]
    [InlineData("1.5", 1.5)]
    [InlineData(" 0.0833 ", 0.0833)]
    [InlineData(".5", 0.5)]
    [InlineData("24", 24.0)]
    [InlineData("007", 7.0)]
    public void Decimal_Accepts(string text, double expected)
    {
        Assert.True(CliNumbers.TryParseDecimal(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("1,5")]
    [InlineData("1e3")]
    [InlineData("0x10")]
    [InlineData("∞")]
    [InlineData("Infinity")]
    [InlineData("NaN")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData("1.")]
    [InlineData("1.2.3")]
    [InlineData("1 000")]
    [InlineData("1_000")]
    [InlineData("١")]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("1234567890")]
    public void Decimal_Refuses(string text) => Assert.False(CliNumbers.TryParseDecimal(text, out _));

    [Theory]
    [InlineData("8", 8)]
    [InlineData(" 16", 16)]
    [InlineData("0", 0)]
    public void Count_Accepts(string text, int expected)
    {
        Assert.True(CliNumbers.TryParseCount(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("8.0")]
    [InlineData("1,6")]
    [InlineData("1e1")]
    [InlineData("0x8")]
    [InlineData("-8")]
    [InlineData("٨")]
    [InlineData("9999999999")]
    public void Count_Refuses(string text) => Assert.False(CliNumbers.TryParseCount(text, out _));

    /// <summary>Generated strings over an alphabet of digits, separators, signs, letters and other scripts' digits: every
    /// accepted string is digits with at most one inner point and means exactly its digits' value; nothing else is accepted.</summary>
    [Fact]
    public void Property_AcceptedMeansWhatItSays_NothingElseAccepted()
    {
        const string alphabet = "0123456789..,,eE+-x _∞١٢\u00A0";
        var random = new Random(20261207);
        var accepted = 0;
        for (var i = 0; i < 200_000; i++)
        {
            var chars = new char[random.Next(0, 8)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = alphabet[random.Next(alphabet.Length)];
            }

            var text = new string(chars);
            var ok = CliNumbers.TryParseDecimal(text, out var value);
            var expected = Meaning(text.Trim());
            Assert.True(ok == expected.HasValue, $"'{text}': accepted {ok}, a plain decimal: {expected.HasValue}");
            if (ok)
            {
                accepted++;
                Assert.True(Math.Abs(expected!.Value - value) <= 1e-9 * Math.Max(1, expected.Value), $"'{text}': {value}, by its digits {expected.Value}");
            }

            var count = CliNumbers.TryParseCount(text, out var n);
            Assert.Equal(expected.HasValue && !text.Contains('.', StringComparison.Ordinal), count);
            if (count)
            {
                Assert.Equal(expected!.Value, n);
            }
        }

        Assert.True(accepted > 1000, $"the generator should produce plenty of valid numbers; got {accepted}");
    }

    /// <summary>The oracle, by digit arithmetic: [digits][.digits] with at least one digit and none after a bare point.</summary>
    private static double? Meaning(string s)
    {
        var dot = s.IndexOf('.', StringComparison.Ordinal);
        var whole = dot < 0 ? s : s[..dot];
        var fraction = dot < 0 ? "" : s[(dot + 1)..];
        if (whole.Length + fraction.Length == 0 || (dot >= 0 && fraction.Length == 0) || (whole + fraction).Any(c => c is < '0' or > '9'))
        {
            return null;
        }

        double value = 0;
        foreach (var c in whole)
        {
            value = value * 10 + (c - '0');
        }

        var scale = 0.1;
        foreach (var c in fraction)
        {
            value += (c - '0') * scale;
            scale /= 10;
        }

        return value;
    }
}

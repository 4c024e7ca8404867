using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace GpuDev.Cli;

/// <summary>The one number parser of the CLI, for every count and duration a user types (flags, prompts): ASCII digits,
/// at most one <c>.</c> as the decimal point, nothing else — no sign, exponent, hex, thousands separator (<c>1,5</c> is
/// refused, not read as 15), other scripts' digits or infinity — so what is accepted means exactly what it says.</summary>
internal static class CliNumbers
{
    /// <summary>Digits are limited so every accepted value is exact enough and far from overflow.</summary>
    private const int MaxDigits = 9;

    public const string DecimalRule = "use digits with an optional '.' decimal point (e.g. 1.5); no commas, signs or exponents";
    public const string CountRule = "use digits only (e.g. 8)";

    /// <summary>A non-negative decimal: <c>12</c>, <c>1.5</c>, <c>.5</c>, <c>0.0833</c>. Surrounding spaces are ignored.</summary>
    public static bool TryParseDecimal(string? text, out double value)
    {
        value = 0;
        var s = (text ?? "").Trim();
        var dot = s.IndexOf('.', StringComparison.Ordinal);
        var whole = dot < 0 ? s : s[..dot];
        var fraction = dot < 0 ? "" : s[(dot + 1)..];
        if (whole.Length + fraction.Length is 0 or > MaxDigits || (dot >= 0 && fraction.Length == 0) || !IsDigits(whole) || !IsDigits(fraction))
        {
            return false;
        }

        value = double.Parse(s, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>A non-negative whole number: <c>0</c>, <c>8</c>, <c>16</c>. Surrounding spaces are ignored.</summary>
    public static bool TryParseCount(string? text, out int value)
    {
        value = 0;
        var s = (text ?? "").Trim();
        if (s.Length is 0 or > MaxDigits || !IsDigits(s))
        {
            return false;
        }

        value = int.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>Whether a value that failed to parse was meant as a number (digits, separators, signs, exponents), so it
    /// gets the number rule rather than being taken as, say, a reservation id.</summary>
    public static bool LooksNumeric(string text) =>
        text.Trim() is { Length: > 0 } s && s.All(c => char.IsDigit(c) || c is '.' or ',' or '+' or '-' or '_' or 'e' or 'E' or '∞' or ' ' or '\'');

    /// <summary>A parser for an <see cref="Option{T}"/> of a whole number: a token that is not one gets
    /// "<c>--gpus: 'x' is not a whole number: use digits only (e.g. 8); valid: ...</c>".</summary>
    public static Func<ArgumentResult, int?> Count(string valid) => Parser<int>("a whole number", CountRule, valid, TryParseCount);

    /// <summary>A parser for an <see cref="Option{T}"/> of a decimal (hours).</summary>
    public static Func<ArgumentResult, double?> Decimal(string valid) => Parser<double>("a number", DecimalRule, valid, TryParseDecimal);

    private delegate bool TryParse<T>(string? text, out T value);

    private static Func<ArgumentResult, T?> Parser<T>(string what, string rule, string valid, TryParse<T> parse)
        where T : struct => result =>
    {
        var token = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (parse(token, out var value))
        {
            return value;
        }

        result.AddError($"{OptionName(result)}: '{token}' is not {what}: {rule}; valid: {valid}.");
        return null;
    };

    private static string OptionName(ArgumentResult result) =>
        result.Parent is OptionResult option ? option.Option.Name : result.Argument.Name;

    private static bool IsDigits(string s)
    {
        foreach (var c in s)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return true;
    }
}

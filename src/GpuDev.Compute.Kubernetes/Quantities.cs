using System.Globalization;

namespace GpuDev.Compute.Kubernetes;

/// <summary>Kubernetes resource quantities (<c>100Gi</c>, <c>500m</c>, <c>8</c>) as numbers.</summary>
internal static class Quantities
{
    private static readonly (string Suffix, double Factor)[] s_suffixes =
    [
        ("Ki", 1024d), ("Mi", 1024d * 1024), ("Gi", 1024d * 1024 * 1024), ("Ti", 1024d * 1024 * 1024 * 1024), ("Pi", 1024d * 1024 * 1024 * 1024 * 1024),
        ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("m", 1e-3),
    ];

    public static bool TryParse(string? text, out double value)
    {
        value = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        foreach (var (suffix, factor) in s_suffixes)
        {
            if (text.EndsWith(suffix, StringComparison.Ordinal) && double.TryParse(text[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
            {
                value = n * factor;
                return n >= 0;
            }
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && value >= 0;
    }

    public static bool TryParseBytes(string? text, out long bytes)
    {
        var ok = TryParse(text, out var value);
        bytes = ok ? (long)value : 0;
        return ok;
    }

    public static double Of(IDictionary<string, k8s.Models.ResourceQuantity>? map, string key) =>
        map is not null && map.TryGetValue(key, out var q) && TryParse(q?.ToString(), out var v) ? v : 0;

    public static string Millicores(double cores) => $"{Math.Max(1, (long)Math.Floor(cores * 1000))}m";

    public static string Mebibytes(double bytes) => $"{Math.Max(1, (long)Math.Floor(bytes / (1024 * 1024)))}Mi";
}

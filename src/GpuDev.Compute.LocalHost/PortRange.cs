using System.Globalization;

namespace GpuDev.Compute.LocalHost;

internal readonly record struct PortRange(int First, int Last)
{
    public int Count => Last - First + 1;

    public static bool TryParse(string? text, out PortRange range)
    {
        range = default;
        var parts = (text ?? string.Empty).Split('-', StringSplitOptions.TrimEntries);
        if (parts.Length != 2
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
            || first < 1024 || last > 65535 || first > last)
        {
            return false;
        }

        range = new PortRange(first, last);
        return true;
    }
}

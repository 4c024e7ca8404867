using System.Globalization;
using System.Text.RegularExpressions;
using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost;

/// <summary>Parses declared local GPUs: <c>TYPE:COUNT[,TYPE:COUNT…]</c>, one node per item (<c>local-0</c>, <c>local-1</c>, …).</summary>
public static partial class LocalGpuSpec
{
    public const string FormatDescription =
        "expected a comma-separated list of TYPE:COUNT items, one per node, e.g. h100:8,h100:8,t4:4 (cpu-x86:0 for a CPU-only node)";

    public const int MaxGpusPerNode = 64;

    /// <summary>Parses <paramref name="spec"/>; throws <see cref="FormatException"/> with a one-line message naming the format.</summary>
    public static IReadOnlyList<ComputeNode> Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrWhiteSpace(spec))
        {
            throw new FormatException($"Invalid GPU spec '': {FormatDescription}.");
        }

        var nodes = new List<ComputeNode>();
        foreach (var raw in spec.Split(','))
        {
            var item = raw.Trim();
            var match = ItemPattern().Match(item);
            if (!match.Success
                || !int.TryParse(match.Groups["count"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var count)
                || count > MaxGpusPerNode)
            {
                throw new FormatException($"Invalid GPU spec item '{item}' in '{spec}': {FormatDescription}; COUNT is 0..{MaxGpusPerNode}.");
            }

            var type = match.Groups["type"].Value.ToLowerInvariant();
            nodes.Add(new ComputeNode($"local-{nodes.Count.ToString(CultureInfo.InvariantCulture)}", type, count, Simulated: true));
        }

        return nodes;
    }

    /// <summary>True when <paramref name="spec"/> parses; <paramref name="error"/> holds the message otherwise.</summary>
    public static bool TryParse(string spec, out IReadOnlyList<ComputeNode> nodes, out string? error)
    {
        try
        {
            nodes = Parse(spec);
            error = null;
            return true;
        }
        catch (FormatException ex)
        {
            nodes = [];
            error = ex.Message;
            return false;
        }
    }

    [GeneratedRegex("^(?<type>[A-Za-z0-9][A-Za-z0-9_-]{0,31}):(?<count>[0-9]{1,3})$", RegexOptions.CultureInvariant)]
    private static partial Regex ItemPattern();
}

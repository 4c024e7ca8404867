using System.Globalization;

namespace GpuDev.Compute.LocalHost;

/// <summary>Maps <c>nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader</c> output to a GPU type and count.</summary>
internal static class NvidiaSmi
{
    private static readonly string[] s_knownTypes = ["B200", "H200", "H100", "A100", "A10G", "L4", "T4"];
    private static readonly string[] s_vendorWords = ["NVIDIA", "TESLA", "GEFORCE", "QUADRO", "RTX"];

    public static (string GpuType, int Count, IReadOnlyList<int> Indices)? ParseQuery(string output)
    {
        var indices = new List<int>();
        string? type = null;
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split(',', StringSplitOptions.TrimEntries);
            if (fields.Length < 2 || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                continue;
            }

            indices.Add(index);
            type ??= MapModel(fields[1]);
        }

        return type is null ? null : (type, indices.Count, indices);
    }

    public static string MapModel(string name)
    {
        var tokens = name.Split([' ', '-', '_'], StringSplitOptions.RemoveEmptyEntries);
        foreach (var token in tokens)
        {
            foreach (var known in s_knownTypes)
            {
                if (string.Equals(token, known, StringComparison.OrdinalIgnoreCase))
                {
                    return known.ToLowerInvariant();
                }
            }
        }

        var model = tokens.FirstOrDefault(t => !s_vendorWords.Contains(t.ToUpperInvariant())) ?? "gpu";
        return model.ToLowerInvariant();
    }
}

using System.Globalization;
using System.Text;

namespace GpuDev.Compute.LocalHost.Disks;

/// <summary>The listing of a snapshot (<c>&lt;snapshotId&gt;.list.tsv</c>): one line per regular file, <c>size TAB path</c>,
/// sorted by path, with backslash, tab, newline and carriage return in a path escaped so that every file is one line.</summary>
internal static class SnapshotListing
{
    public const string Suffix = ".list.tsv";

    public static string Format(IEnumerable<DiskContentEntry> entries)
    {
        var text = new StringBuilder();
        foreach (var entry in entries)
        {
            text.Append(entry.SizeBytes.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(EscapePath(entry.Path)).Append('\n');
        }

        return text.ToString();
    }

    public static DiskContentEntry ParseLine(string line)
    {
        var tab = line.IndexOf('\t', StringComparison.Ordinal);
        return new DiskContentEntry(UnescapePath(line[(tab + 1)..]), long.Parse(line.AsSpan(0, tab), NumberStyles.None, CultureInfo.InvariantCulture));
    }

    public static string EscapePath(string path) =>
        path.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)
            .Replace("\r", "\\r", StringComparison.Ordinal);

    public static string UnescapePath(string escaped)
    {
        if (!escaped.Contains('\\', StringComparison.Ordinal))
        {
            return escaped;
        }

        var sb = new StringBuilder(escaped.Length);
        for (var i = 0; i < escaped.Length; i++)
        {
            if (escaped[i] == '\\' && i + 1 < escaped.Length)
            {
                i++;
                sb.Append(escaped[i] switch { 't' => '\t', 'n' => '\n', 'r' => '\r', _ => escaped[i] });
            }
            else
            {
                sb.Append(escaped[i]);
            }
        }

        return sb.ToString();
    }
}

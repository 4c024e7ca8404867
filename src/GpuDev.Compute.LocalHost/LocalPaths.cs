using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace GpuDev.Compute.LocalHost;

internal static partial class LocalPaths
{
    public static string DefaultStateDir(string dataDir)
    {
        var full = Path.GetFullPath(dataDir);
        return Environment.IsPrivilegedProcess
            ? Path.Combine("/var/lib/gpu-dev", ShortHash(full))
            : Path.Combine(full, "local");
    }

    /// <summary>First 12 lowercase hex characters of the SHA-256 of <paramref name="text"/>.</summary>
    public static string ShortHash(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];

    public static bool IsSafePath(string path) => SafePath().IsMatch(path) && !path.Contains("/../", StringComparison.Ordinal);

    public static bool IsUnderWorldWritableTemp(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd('/') + "/";
        return full.StartsWith("/tmp/", StringComparison.Ordinal)
            || full.StartsWith("/var/tmp/", StringComparison.Ordinal)
            || full.StartsWith("/dev/shm/", StringComparison.Ordinal);
    }

    [GeneratedRegex("^/[A-Za-z0-9._/-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SafePath();
}

using System.Text.RegularExpressions;

namespace GpuDev.Core.Reservations;

/// <summary>Build contexts of <c>--dockerfile</c>: gzip-compressed tar archives that the CLI uploads before it creates the
/// reservation, named by their SHA-256 and kept by the server under its data directory, where the local provider builds
/// from them.</summary>
public static partial class BuildContexts
{
    /// <summary>The largest context the server takes (compressed).</summary>
    public const long MaxBytes = 256L * 1024 * 1024;

    public static bool IsValidId(string? id) => id is not null && IdPattern().IsMatch(id);

    /// <summary>Where a context lives, relative to the server's data directory.</summary>
    public static string RelativePath(string id) =>
        IsValidId(id) ? Path.Combine("build-contexts", id + ".tar.gz") : throw new ArgumentException("A build context id is 64 lowercase hex characters.", nameof(id));

    [GeneratedRegex("^[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}

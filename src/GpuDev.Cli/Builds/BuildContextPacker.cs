using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace GpuDev.Cli.Builds;

/// <summary>The build context of <c>--dockerfile</c>: the Dockerfile's directory (without <c>.git</c>) as a gzip-compressed tar in
/// a temporary file, named by its SHA-256, at most <see cref="MaxBytes"/> compressed (the server's limit).</summary>
internal sealed class BuildContextPacker
{
    public const long MaxBytes = 256L * 1024 * 1024;

    /// <summary>A packed context: its file (deleted on dispose), SHA-256, number of entries and compressed size.</summary>
    internal sealed record Packed(string File, string Sha256, int Entries, long Bytes) : IDisposable
    {
        public void Dispose()
        {
            System.IO.File.Delete(File);
        }
    }

    public static async Task<Packed> PackAsync(string directory, CancellationToken cancellationToken)
    {
        var root = Path.GetFullPath(directory);
        var file = Path.Combine(Path.GetTempPath(), "gpu-dev-context-" + Guid.NewGuid().ToString("N") + ".tar.gz");
        var entries = 0;
        try
        {
            await using (var output = new FileStream(file, FileMode.CreateNew, FileAccess.Write))
            await using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
            await using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: false))
            {
                foreach (var path in Walk(root))
                {
                    var name = Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/');
                    await tar.WriteEntryAsync(path, name, cancellationToken).ConfigureAwait(false);
                    entries++;
                    if (output.Length > MaxBytes)
                    {
                        throw TooLarge(root);
                    }
                }
            }

            var bytes = new FileInfo(file).Length;
            if (bytes > MaxBytes)
            {
                throw TooLarge(root);
            }

            await using var read = File.OpenRead(file);
            var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(read, cancellationToken).ConfigureAwait(false));
            return new Packed(file, sha, entries, bytes);
        }
        catch
        {
            File.Delete(file);
            throw;
        }
    }

    /// <summary>Directories, files and links under <paramref name="root"/>, parents first, in a fixed order; no <c>.git</c>; links are
    /// not followed.</summary>
    private static IEnumerable<string> Walk(string root)
    {
        foreach (var entry in new DirectoryInfo(root).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            if (entry.Name == ".git")
            {
                continue;
            }

            yield return entry.FullName;
            if (entry is DirectoryInfo { LinkTarget: null })
            {
                foreach (var inner in Walk(entry.FullName))
                {
                    yield return inner;
                }
            }
        }
    }

    private static CliException TooLarge(string root) =>
        CliException.Usage(
            $"--dockerfile: the build context {root} is larger than {MaxBytes / (1024 * 1024)} MiB compressed",
            "put the Dockerfile in a directory with only what the build needs");
}

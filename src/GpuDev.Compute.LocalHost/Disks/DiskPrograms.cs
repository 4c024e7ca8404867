using System.Globalization;

namespace GpuDev.Compute.LocalHost.Disks;

/// <summary>The programs the store runs over a disk's files, with argument lists and a time limit each, none of them following
/// a symlink of the user's (chown -P -h, find -P, rm --one-file-system, du -P).</summary>
/// <param name="shortTimeout">Limit for programs that look at one path (stat, chown of a few files).</param>
/// <param name="longTimeout">Limit for programs that walk a whole disk (tar, chown -R, du, find, rm -r).</param>
internal sealed class DiskPrograms(TimeSpan shortTimeout, TimeSpan longTimeout)
{
    public TimeSpan LongTimeout => longTimeout;

    /// <summary>chown -R without following any symlink (-P: not even command-line ones; -h: a link's own owner changes).</summary>
    public Task ChownTreeAsync(string path, int uid, int gid, CancellationToken cancellationToken) =>
        ProcessRunner.RunCheckedAsync("chown", ["-R", "-P", "-h", "--", Owner(uid, gid), path], longTimeout, cancellationToken);

    /// <summary>chown of the paths themselves (-h: a symlink's own owner, never its target's).</summary>
    public Task ChownAsync(IEnumerable<string> paths, int uid, int gid, CancellationToken cancellationToken) =>
        ProcessRunner.RunCheckedAsync("chown", ["-h", "--", Owner(uid, gid), .. paths], shortTimeout, cancellationToken);

    public async Task<(int Uid, int Gid)> OwnerAsync(string path, CancellationToken cancellationToken)
    {
        var result = await ProcessRunner.RunCheckedAsync("stat", ["-c", "%u:%g", "--", path], shortTimeout, cancellationToken).ConfigureAwait(false);
        var parts = result.StdOut.Trim().Split(':');
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    public async Task RemoveTreeAsync(string path, CancellationToken cancellationToken)
    {
        if (DiskFiles.PathExists(path))
        {
            await ProcessRunner.RunCheckedAsync("rm", ["-rf", "--one-file-system", "--", path], longTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Apparent size in bytes of everything under <paramref name="dir"/> (<c>du -sb</c>, one file system, no symlinks followed).</summary>
    public async Task<long> UsageAsync(string dir, CancellationToken cancellationToken)
    {
        var result = await ProcessRunner.RunCheckedAsync("du", ["-s", "-b", "-P", "-x", "--", dir], longTimeout, cancellationToken).ConfigureAwait(false);
        var first = result.StdOut.Split('\t', 2)[0].Trim();
        return long.Parse(first, NumberStyles.None, CultureInfo.InvariantCulture);
    }

    /// <summary>Regular files under <paramref name="dir"/>, relative paths sorted ordinally; no symlink is followed.</summary>
    public async Task<List<DiskContentEntry>> ListFilesAsync(string dir, CancellationToken cancellationToken)
    {
        var result = await ProcessRunner.RunCheckedAsync("find", ["-P", dir, "-xdev", "-type", "f", "-printf", "%s\\t%P\\0"], longTimeout, cancellationToken).ConfigureAwait(false);
        List<DiskContentEntry> entries = [];
        foreach (var record in result.StdOut.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var tab = record.IndexOf('\t', StringComparison.Ordinal);
            entries.Add(new DiskContentEntry(record[(tab + 1)..], long.Parse(record.AsSpan(0, tab), NumberStyles.None, CultureInfo.InvariantCulture)));
        }

        entries.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return entries;
    }

    /// <summary>"+uid:+gid": the plus makes chown read numbers, never names.</summary>
    private static string Owner(int uid, int gid) =>
        "+" + uid.ToString(CultureInfo.InvariantCulture) + ":+" + gid.ToString(CultureInfo.InvariantCulture);
}

using System.Globalization;
using System.Security.Cryptography;
using GpuDev.Compute.LocalHost.Disks;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDev.Compute.LocalHost.Tests.Disks;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = start;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}

/// <summary>A throw-away store root under /var/tmp plus an "outside" directory that no disk operation may touch.</summary>
internal sealed class DiskTestRoot : IAsyncDisposable
{
    public const string DiskId = "0123456789abcdef0123456789abcdef";
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    private DiskTestRoot(string dir)
    {
        Dir = dir;
        StoreRoot = Path.Combine(dir, "disks");
        Outside = Path.Combine(dir, "outside");
        OutsideFile = Path.Combine(Outside, "secret.txt");
    }

    public string Dir { get; }

    public string StoreRoot { get; }

    public string Outside { get; }

    public string OutsideFile { get; }

    public ManualTime Time { get; } = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));

    /// <summary>Skips unless root with tar and find; makes the directories.</summary>
    public static DiskTestRoot Create()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            TestSkips.Skip("The disk store tests need root (chown to other uids).");
        }

        if (ProcessRunner.FindOnPath("tar") is null || ProcessRunner.FindOnPath("find") is null)
        {
            TestSkips.Skip("The disk store tests need GNU tar and find.");
        }

        var root = new DiskTestRoot(Path.Combine("/var/tmp/gpu-dev-disk-tests", Guid.NewGuid().ToString("N")[..12]));
        Directory.CreateDirectory(root.Outside);
        File.WriteAllText(root.OutsideFile, "outside the disk\n");
        File.SetUnixFileMode(root.OutsideFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return root;
    }

    public LocalDiskStore CreateStore(string? skelDir = null) =>
        new(StoreRoot, Time, NullLogger.Instance, skelDir: skelDir ?? "/etc/skel");

    /// <summary>Owner, mode and modification time of the outside file: must never change.</summary>
    public string OutsideState() => Describe(OutsideFile) + "|" + File.ReadAllText(OutsideFile);

    public static string Describe(string path)
    {
        var info = new FileInfo(path);
        return string.Create(CultureInfo.InvariantCulture, $"{StatOwner(path)}|{info.UnixFileMode}|{info.LastWriteTimeUtc.Ticks}");
    }

    public static string StatOwner(string path)
    {
        var result = ProcessRunner.RunAsync("stat", ["-c", "%u:%g", "--", path], s_timeout, CancellationToken.None).GetAwaiter().GetResult();
        Assert.True(result.Succeeded, result.Describe("stat"));
        return result.StdOut.Trim();
    }

    /// <summary>Every entry under <paramref name="dir"/> (not following symlinks) whose owner is not <paramref name="uid"/>.</summary>
    public static async Task<string> NotOwnedByAsync(string dir, int uid)
    {
        var result = await ProcessRunner.RunAsync("find", ["-P", dir, "!", "-uid", uid.ToString(CultureInfo.InvariantCulture)], s_timeout, CancellationToken.None);
        Assert.True(result.Succeeded, result.Describe("find"));
        return result.StdOut.Trim();
    }

    /// <summary>Relative path → "f:sha256:mode", "l:target" or "d:mode" for everything under <paramref name="dir"/>.</summary>
    public static SortedDictionary<string, string> Fingerprint(string dir)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        Walk(new DirectoryInfo(dir), dir, result);
        return result;
    }

    private static void Walk(DirectoryInfo dir, string root, SortedDictionary<string, string> result)
    {
        foreach (var entry in dir.EnumerateFileSystemInfos())
        {
            var rel = Path.GetRelativePath(root, entry.FullName);
            if (entry.LinkTarget is not null)
            {
                result[rel] = "l:" + entry.LinkTarget;
            }
            else if (entry is DirectoryInfo sub)
            {
                result[rel] = "d:" + sub.UnixFileMode;
                Walk(sub, root, result);
            }
            else
            {
                using var stream = File.OpenRead(entry.FullName);
                result[rel] = "f:" + Convert.ToHexStringLower(SHA256.HashData(stream)) + ":" + entry.UnixFileMode;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessRunner.RunAsync("rm", ["-rf", "--one-file-system", "--", Dir], s_timeout, CancellationToken.None);
    }
}

/// <summary>A throw-away system user for ownership tests; removed on dispose.</summary>
internal sealed class ThrowawayUser : IAsyncDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);

    private ThrowawayUser(string name, int uid, int gid)
    {
        Name = name;
        Uid = uid;
        Gid = gid;
    }

    public string Name { get; }

    public int Uid { get; }

    public int Gid { get; }

    public static async Task<ThrowawayUser> CreateAsync()
    {
        if (ProcessRunner.FindOnPath("useradd", "/usr/sbin:/usr/bin:/sbin:/bin") is null)
        {
            TestSkips.Skip("useradd is not installed.");
        }

        var name = "gdtest" + Guid.NewGuid().ToString("N")[..8];
        var add = await ProcessRunner.RunAsync("useradd", ["-M", "-U", "-s", "/usr/sbin/nologin", "-d", "/nonexistent", name], s_timeout, CancellationToken.None);
        Assert.True(add.Succeeded, add.Describe("useradd"));
        var uid = await ProcessRunner.RunAsync("id", ["-u", name], s_timeout, CancellationToken.None);
        var gid = await ProcessRunner.RunAsync("id", ["-g", name], s_timeout, CancellationToken.None);
        return new ThrowawayUser(name, int.Parse(uid.StdOut.Trim(), CultureInfo.InvariantCulture), int.Parse(gid.StdOut.Trim(), CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessRunner.RunAsync("userdel", [Name], s_timeout, CancellationToken.None);
        await ProcessRunner.RunAsync("groupdel", [Name], s_timeout, CancellationToken.None);
    }
}

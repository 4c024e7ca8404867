using System.Globalization;

namespace GpuDev.Compute.LocalHost.Disks;

/// <summary>The store's own file-system steps: directories created with their mode (no moment with a wider one), names that
/// nothing has yet (not even a dangling symlink), and the time stamps of kept copies.</summary>
internal static class DiskFiles
{
    public static readonly UnixFileMode Mode700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public static readonly UnixFileMode Mode711 = Mode700 | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    public static void EnsureDir(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Disks need a Unix host.");
        }

        Directory.CreateDirectory(path, mode);
        File.SetUnixFileMode(path, mode);
    }

    public static void SetMode(string path, UnixFileMode mode)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("Disks need a Unix host.");
        }

        File.SetUnixFileMode(path, mode);
    }

    public static void DeleteFileIfExists(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }

    /// <summary><paramref name="name"/> under <paramref name="dir"/>, suffixed -2, -3 … until nothing (not even a dangling symlink) has it.</summary>
    public static string UniqueName(string dir, string name)
    {
        var candidate = Path.Combine(dir, name);
        for (var n = 2; PathExists(candidate); n++)
        {
            candidate = Path.Combine(dir, name + "-" + n.ToString(CultureInfo.InvariantCulture));
        }

        return candidate;
    }

    public static bool PathExists(string path) => File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null;

    /// <summary>The current UTC time as a name suffix (<c>20250601T120000Z</c>).</summary>
    public static string Stamp(TimeProvider timeProvider) =>
        timeProvider.GetUtcNow().UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
}

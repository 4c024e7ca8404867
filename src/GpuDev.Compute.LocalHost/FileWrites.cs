using System.Text;

namespace GpuDev.Compute.LocalHost;

/// <summary>The provider's one way to write a file that readers must never see half-written: the content goes to
/// <c>&lt;path&gt;.tmp</c> (mode set before it appears under its name) and a rename puts it in place. Callers that
/// need several files to appear in a fixed order write each with <see cref="WriteTemp"/> and rename them with
/// <see cref="Commit"/> in that order (a disk snapshot's archive, then its listing).</summary>
internal static class FileWrites
{
    /// <summary>What a file being written is called until it is complete; crash recovery removes such leftovers.</summary>
    public const string TempSuffix = ".tmp";

    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);

    public static string TempPath(string path) => path + TempSuffix;

    public static void WriteAtomically(string path, string content, string mode)
    {
        WriteTemp(path, content, mode);
        Commit(path);
    }

    /// <summary>Writes <paramref name="content"/> to <see cref="TempPath"/> of <paramref name="path"/> with its mode and,
    /// when given, its modification time; <paramref name="durable"/>: flushed to the disk before it can be renamed.</summary>
    public static void WriteTemp(string path, string content, string mode, DateTimeOffset? modifiedAt = null, bool durable = false)
    {
        var temp = TempPath(path);
        File.WriteAllText(temp, content, s_utf8);
        SetMode(temp, mode);
        if (modifiedAt is { } time)
        {
            File.SetLastWriteTimeUtc(temp, time.UtcDateTime);
        }

        if (durable)
        {
            FlushToDisk(temp);
        }
    }

    /// <summary>Renames the complete <see cref="TempPath"/> of <paramref name="path"/> over it.</summary>
    public static void Commit(string path) => File.Move(TempPath(path), path, overwrite: true);

    /// <summary>Writes when the content differs; true when it wrote.</summary>
    public static bool WriteIfChanged(string path, string content, string mode)
    {
        if (File.Exists(path) && File.ReadAllText(path) == content)
        {
            return false;
        }

        WriteAtomically(path, content, mode);
        return true;
    }

    public static void FlushToDisk(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>Creates the directory when it is missing and sets its mode either way.</summary>
    public static void EnsureDir(string path, string mode)
    {
        Directory.CreateDirectory(path);
        SetMode(path, mode);
    }

    public static void SetMode(string path, string octal)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The local-host provider runs on Linux.");
        }

        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32(octal, 8));
    }

    /// <summary>Deletes a file; nothing when it or its directory is gone.</summary>
    public static void DeleteIfPresent(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
            // Removed with its environment.
        }
    }
}

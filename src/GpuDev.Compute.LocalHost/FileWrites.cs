using System.Text;

namespace GpuDev.Compute.LocalHost;

/// <summary>Small file writes of the provider: atomic (temp file and rename), with their mode set before they appear.</summary>
internal static class FileWrites
{
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);

    public static void WriteAtomically(string path, string content, string mode)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, content, s_utf8);
        SetMode(temp, mode);
        File.Move(temp, path, overwrite: true);
    }

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

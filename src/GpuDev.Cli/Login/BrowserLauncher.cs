using System.ComponentModel;
using System.Diagnostics;

namespace GpuDev.Cli.Login;

/// <summary>Opens a URL in the user's browser with the desktop's opener (<c>open</c> on macOS, <c>xdg-open</c> elsewhere).
/// Best effort: a missing opener or one that fails is not an error, the URL is printed anyway.</summary>
internal static class BrowserLauncher
{
    /// <summary>Whether a browser on this machine is one the user can see: a graphical session (DISPLAY or
    /// WAYLAND_DISPLAY; macOS always has one) that is not reached over SSH (a browser would open on the far screen).</summary>
    public static bool HasGraphicalSession(ICliEnvironment environment) =>
        environment.GetVariable("SSH_CONNECTION") is null
        && (OperatingSystem.IsMacOS() || environment.GetVariable("DISPLAY") is not null || environment.GetVariable("WAYLAND_DISPLAY") is not null);

    public static bool TryOpen(string url)
    {
        var info = new ProcessStartInfo(OperatingSystem.IsMacOS() ? "open" : "xdg-open")
        {
            UseShellExecute = false,

            // The opener's own chatter ("Opening in existing browser session.") must not land between our lines.
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        info.ArgumentList.Add(url);
        try
        {
            // Not disposed here: the drains below own it until the opener exits (it usually hands over and exits at once).
            var process = Process.Start(info);
            if (process is null)
            {
                return false;
            }

            process.StandardInput.Close();
            _ = process.StandardOutput.ReadToEndAsync();
            _ = process.StandardError.ReadToEndAsync();
            return true;
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException or IOException)
        {
            return false;
        }
    }
}

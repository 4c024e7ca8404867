using System.Diagnostics;
using System.Globalization;

namespace GpuDev.Server.Processing;

/// <summary>Job lease owners are <c>host:pid:instance</c>. A lease held by a process of this host that no
/// longer runs (the server crashed) can be released at once instead of waiting for it to run out.</summary>
internal static class LeaseOwners
{
    public static string ForThisProcess() => $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    public static bool IsDeadOnThisHost(string owner)
    {
        var parts = owner.Split(':');
        if (parts.Length != 3 || parts[0] != Environment.MachineName || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }

        if (pid == Environment.ProcessId)
        {
            return false;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }
}

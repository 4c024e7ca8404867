using System.Diagnostics;
using System.Globalization;

namespace GpuDev.Server.Processing;

/// <summary>Job lease owners are <c>host:pid:instance</c>. A lease held by a process of this host that no
/// longer runs (the server crashed) can be released at once instead of waiting for it to run out.
/// With replicas the host part must single out one process table: two containers can share a host name, and a pid
/// seen from another pid namespace or after a reboot means nothing. So the host part is the host name plus the boot
/// id and the pid namespace; a lease whose host part differs in any of them (another host, another container, an
/// owner written before this format) is never released early, only when it runs out.</summary>
internal static class LeaseOwners
{
    private static readonly Lazy<string> s_host = new(HostIdentity);

    public static string ForThisProcess() => $"{s_host.Value}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    /// <summary>This process, for work it does outside the job queue (a disk restore in a request).</summary>
    public static string ThisProcess { get; } = ForThisProcess();

    public static bool IsDeadOnThisHost(string owner)
    {
        var parts = owner.Split(':');
        if (parts.Length != 3 || parts[0] != s_host.Value || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
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

    private static string HostIdentity()
    {
        var name = Environment.MachineName.Replace(':', '_').Replace('/', '_');
        var boot = Read("/proc/sys/kernel/random/boot_id")?.Replace("-", "", StringComparison.Ordinal) is { Length: >= 8 } id ? id[..8] : "noboot";
        var pidNamespace = LinkTarget("/proc/self/ns/pid") is { } ns ? new string([.. ns.Where(char.IsAsciiDigit)]) : "nons";
        return $"{name}/{boot}/{pidNamespace}";
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

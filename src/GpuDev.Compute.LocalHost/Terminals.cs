using System.Globalization;
using System.Text.RegularExpressions;

namespace GpuDev.Compute.LocalHost;

/// <summary>Finds the terminals (<c>/dev/pts/N</c> of this host) that processes have as standard input, output or error.</summary>
internal static partial class Terminals
{
    /// <summary>The distinct terminals held on fd 0, 1 or 2 by <paramref name="pids"/>. <c>Host</c>: <c>/dev/pts/N</c> paths of the
    /// devpts mount this process sees at <c>/dev/pts</c> (which no user can replace). <c>Sandboxed</c>: ptys a sandbox allocated
    /// from its own devpts instance (e.g. tmux panes in a session); their path would name a different terminal here, so
    /// they are given as <c>/proc/PID/fd/N</c>, to be opened only with the holder's own privileges.</summary>
    public static (SortedSet<string> Host, List<string> Sandboxed) Find(IEnumerable<int> pids)
    {
        var devpts = DevptsMountId();
        var host = new SortedSet<string>(StringComparer.Ordinal);
        var sandboxed = new List<string>();
        var seen = new HashSet<(int, string)>();
        foreach (var pid in pids)
        {
            var procDir = "/proc/" + pid.ToString(CultureInfo.InvariantCulture);
            for (var fd = 0; fd <= 2; fd++)
            {
                var fdText = fd.ToString(CultureInfo.InvariantCulture);
                string? target;
                try
                {
                    target = new FileInfo(procDir + "/fd/" + fdText).LinkTarget;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    continue;
                }

                if (target is null || !PtsPath().IsMatch(target))
                {
                    continue;
                }

                var mount = FdMountId(procDir + "/fdinfo/" + fdText);
                if (devpts is null || mount == devpts)
                {
                    host.Add(target);
                }
                else if (mount >= 0 && seen.Add((mount, target)))
                {
                    sandboxed.Add(procDir + "/fd/" + fdText);
                }
            }
        }

        return (host, sandboxed);
    }

    /// <summary>The text written to a terminal: on its own lines, wall-style, with a bell.</summary>
    public static string Banner(string message) =>
        "\a\r\n*** gpu-dev: " + message.Replace("\n", "\r\n", StringComparison.Ordinal) + " ***\r\n";

    /// <summary>Mount id of the devpts mounted (last, i.e. visible) at <c>/dev/pts</c> in this process's namespace.</summary>
    private static int? DevptsMountId()
    {
        try
        {
            int? id = null;
            foreach (var line in File.ReadLines("/proc/self/mountinfo"))
            {
                var fields = line.Split(' ');
                var dash = Array.IndexOf(fields, "-");
                if (fields.Length > 4 && dash > 4 && dash + 1 < fields.Length && fields[4] == "/dev/pts")
                {
                    id = fields[dash + 1] == "devpts" ? int.Parse(fields[0], CultureInfo.InvariantCulture) : null;
                }
            }

            return id;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static int FdMountId(string fdinfoPath)
    {
        try
        {
            foreach (var line in File.ReadLines(fdinfoPath))
            {
                if (line.StartsWith("mnt_id:", StringComparison.Ordinal))
                {
                    return int.Parse(line["mnt_id:".Length..].Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return -1;
        }

        return -1;
    }

    [GeneratedRegex("^/dev/pts/[0-9]{1,9}$", RegexOptions.CultureInvariant)]
    private static partial Regex PtsPath();
}

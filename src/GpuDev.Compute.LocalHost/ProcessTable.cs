using System.Globalization;

namespace GpuDev.Compute.LocalHost;

/// <summary>Reads <c>/proc</c>: process parents, states, owners and command lines.</summary>
internal static class ProcessTable
{
    internal sealed record Entry(int Pid, int ParentPid, char State, int Uid);

    public static List<Entry> Snapshot()
    {
        var entries = new List<Entry>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                var close = stat.LastIndexOf(')');
                var fields = stat[(close + 2)..].Split(' ');
                var uid = ReadUid(Path.Combine(dir, "status"));
                entries.Add(new Entry(pid, int.Parse(fields[1], CultureInfo.InvariantCulture), fields[0][0], uid));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // The process exited while we read it.
            }
        }

        return entries;
    }

    public static IReadOnlyList<string> CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Live (not zombie) sshd listeners started with <c>-f <paramref name="configPath"/></c>.</summary>
    public static List<int> FindSshd(string configPath, string sshdPath) => FindSshdMatching(" -f " + configPath + " ", sshdPath);

    /// <summary>Live sshd listeners whose <c>-f</c> config lies in <paramref name="directory"/> or below (every rank of an environment).</summary>
    public static List<int> FindSshdUnder(string directory, string sshdPath) => FindSshdMatching(" -f " + directory.TrimEnd('/') + "/", sshdPath);

    private static List<int> FindSshdMatching(string configArgument, string sshdPath)
    {
        var result = new List<int>();
        foreach (var entry in Snapshot())
        {
            if (entry.State is 'Z' or 'X')
            {
                continue;
            }

            // sshd rewrites its title ("sshd: /usr/sbin/sshd -D -e -f <config> [listener] …"), so match on the joined text.
            var cmd = string.Join(' ', CommandLine(entry.Pid)) + " ";
            if (cmd.Contains(sshdPath + " ", StringComparison.Ordinal) && cmd.Contains(configArgument, StringComparison.Ordinal))
            {
                result.Add(entry.Pid);
            }
        }

        return result;
    }

    /// <summary><paramref name="roots"/> and all their live descendants.</summary>
    public static HashSet<int> WithDescendants(List<Entry> snapshot, IEnumerable<int> roots)
    {
        var set = new HashSet<int>(roots);
        bool added;
        do
        {
            added = false;
            foreach (var entry in snapshot)
            {
                if (set.Contains(entry.ParentPid) && set.Add(entry.Pid))
                {
                    added = true;
                }
            }
        }
        while (added);
        return set;
    }

    /// <summary>Start time of <paramref name="pid"/> in clock ticks since boot (field 22 of <c>/proc/PID/stat</c>), or null
    /// when it does not exist; with the pid it names one process even after pid reuse.</summary>
    public static long? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields[0][0] is 'Z' or 'X' ? null : long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    private static int ReadUid(string statusPath)
    {
        foreach (var line in File.ReadLines(statusPath))
        {
            if (line.StartsWith("Uid:", StringComparison.Ordinal))
            {
                return int.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }
}

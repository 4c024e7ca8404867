using System.Globalization;

namespace GpuDev.Bench.Api;

/// <summary>A process's CPU time so far (user + system, all threads), from <c>/proc/PID/stat</c>: what the server spent,
/// whatever the load generator beside it on the same cores did.</summary>
internal static class ProcessCpu
{
    public static TimeSpan? Read(int? pid)
    {
        if (pid is not { } id)
        {
            return null;
        }

        // Fields after the command name (which may hold spaces, so split after its closing parenthesis): utime is the
        // 14th field and stime the 15th of the whole line, i.e. the 12th and 13th after ") ".
        var stat = File.ReadAllText($"/proc/{id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds((double)ticks / ClockTicksPerSecond);
    }

    /// <summary>USER_HZ: 100 on every Linux architecture .NET runs on (the kernel reports /proc times in it).</summary>
    private const int ClockTicksPerSecond = 100;
}

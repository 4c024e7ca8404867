using System.Diagnostics;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Faults;

/// <summary>Test-only fault injection: when execution reaches the step named by <c>Server:CrashAt</c> (and
/// <c>Server:EnableFaultInjection</c> is true) the process SIGKILLs itself, as a power cut would: no shutdown,
/// no flush, no finally blocks. Off by default; the validator refuses CrashAt without the enable switch.</summary>
internal sealed partial class CrashPoints(IOptions<ServerOptions> options, ILogger<CrashPoints> logger)
{
    /// <summary>Written to stderr right before the kill, so a test can tell an injected crash from a real one.</summary>
    public const string Marker = "gpu-dev-server: injected crash at ";

    public void Reach(string step)
    {
        var settings = options.Value;
        if (!settings.EnableFaultInjection || !string.Equals(settings.CrashAt, step, StringComparison.Ordinal))
        {
            return;
        }

        LogCrashing(logger, step);
        Console.Error.WriteLine(Marker + step);
        Console.Error.Flush();
        using var self = Process.GetCurrentProcess();
        self.Kill();
        Thread.Sleep(Timeout.Infinite);
    }

    [LoggerMessage(EventId = 1950, Level = LogLevel.Critical, Message = "Fault injection: killing the server at step {Step}")]
    private static partial void LogCrashing(ILogger logger, string step);
}

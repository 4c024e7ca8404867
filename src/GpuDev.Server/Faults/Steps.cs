using System.Diagnostics;

namespace GpuDev.Server.Faults;

/// <summary>Where the server's code announces that it reached a named step (<see cref="CrashSteps"/>), right after a
/// durable change. Nothing happens unless something listens: only the test-only fault injection does
/// (<see cref="CrashPoints"/>, wired by the composition root when <c>Server:EnableFaultInjection</c> is set). A
/// diagnostic listener keeps the injection out of the constructors of the code it tests; a step nobody listens to
/// costs one flag check.</summary>
internal static class Steps
{
    public const string ListenerName = "GpuDev.Server.Steps";

    private static readonly DiagnosticListener s_listener = new(ListenerName);

    public static void Reached(string step)
    {
        if (s_listener.IsEnabled(step))
        {
            s_listener.Write(step, null);
        }
    }
}

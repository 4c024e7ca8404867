namespace GpuDev.Compute.LocalHost;

internal sealed record ProcessResult(int ExitCode, string StdOut, string StdErr, bool TimedOut)
{
    public bool Succeeded => ExitCode == 0 && !TimedOut;

    /// <summary>A one-line summary for error messages.</summary>
    public string Describe(string what) =>
        TimedOut ? $"{what} timed out" : $"{what} exited with {ExitCode}: {LastLine(StdErr.Length > 0 ? StdErr : StdOut)}";

    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? string.Empty;
}

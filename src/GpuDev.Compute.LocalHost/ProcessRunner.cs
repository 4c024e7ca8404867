using System.Diagnostics;

namespace GpuDev.Compute.LocalHost;

/// <summary>The one way this provider runs programs: an argument list (never a shell string built from input),
/// a time limit, captured output.</summary>
internal static class ProcessRunner
{
    /// <param name="environment">When set, the program gets exactly these variables (a secret passed this way does not
    /// show in <c>/proc/PID/cmdline</c>, which every local user can read).</param>
    public static async Task<ProcessResult> RunAsync(
        string fileName, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken, IReadOnlyList<KeyValuePair<string, string>>? environment = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (environment is not null)
        {
            startInfo.Environment.Clear();
            foreach (var (name, value) in environment)
            {
                startInfo.Environment[name] = value;
            }
        }

        foreach (var argument in arguments)
        {
            if (argument.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException("Process arguments must not contain NUL.", nameof(arguments));
            }

            startInfo.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = startInfo };
        process.Start();
        process.StandardInput.Close();
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        var stdout = process.StandardOutput.ReadToEndAsync(timeoutCts.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeoutCts.Token);
        try
        {
            await process.WaitForExitAsync(timeoutCts.Token).ConfigureAwait(false);
            return new ProcessResult(process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false), TimedOut: false);
        }
        catch (OperationCanceledException)
        {
            return TimedOut(process, cancellationToken);
        }
    }

    /// <summary>Runs the program and throws with its one-line failure when it does not succeed.</summary>
    public static async Task<ProcessResult> RunCheckedAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = await RunAsync(fileName, arguments, timeout, cancellationToken).ConfigureAwait(false);
        return result.Succeeded ? result : throw new InvalidOperationException(result.Describe(fileName));
    }

    /// <summary>Runs a long program (an image pull or build), handing every line it writes (stdout and stderr) to
    /// <paramref name="onLine"/> as it comes; the result keeps the last lines as its standard error.</summary>
    public static async Task<ProcessResult> RunStreamingAsync(
        string fileName, IEnumerable<string> arguments, TimeSpan timeout, Action<string> onLine, CancellationToken cancellationToken)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        var tail = new Queue<string>();
        void Line(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (tail)
            {
                tail.Enqueue(line);
                if (tail.Count > 20)
                {
                    tail.Dequeue();
                }
            }

            onLine(line);
        }

        using var process = new Process { StartInfo = startInfo };
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutCts.Token).ConfigureAwait(false);
            lock (tail)
            {
                return new ProcessResult(process.ExitCode, string.Empty, string.Join('\n', tail), TimedOut: false);
            }
        }
        catch (OperationCanceledException)
        {
            return TimedOut(process, cancellationToken);
        }
    }

    /// <summary>Kills a program that ran out of time (and its children); rethrows when the caller cancelled.</summary>
    private static ProcessResult TimedOut(Process process, CancellationToken cancellationToken)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new ProcessResult(-1, string.Empty, string.Empty, TimedOut: true);
    }

    /// <summary>Finds <paramref name="name"/> on PATH.</summary>
    public static string? FindOnPath(string name, string? searchPath = null)
    {
        var path = searchPath ?? Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

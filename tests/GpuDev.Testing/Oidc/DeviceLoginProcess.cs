using System.Diagnostics;
using System.Text;

namespace GpuDev.Testing.Oidc;

/// <summary>Runs <c>gpu-dev login</c> as its own process, as a user at a terminal: waits for the user code it prints
/// ("... this code:", a blank line, the code), hands it to the user's side (the browser: <see cref="OidcTestProvider.CompleteDeviceLoginAsync"/>)
/// and returns how the command ended.</summary>
public static class DeviceLoginProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <param name="info">The command, its arguments and environment (output and input are redirected here).</param>
    /// <param name="signIn">What the user does with the code.</param>
    /// <param name="timeout">For the code to appear, and again for the command to end after the sign-in.</param>
    public static async Task<Result> RunAsync(ProcessStartInfo info, Func<string, Task> signIn, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.RedirectStandardInput = true;
        info.UseShellExecute = false;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var code = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var codeFollows = false;
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) =>
        {
            lock (stdout)
            {
                stdout.AppendLine(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
                if (e.Data?.EndsWith("this code:", StringComparison.Ordinal) == true)
                {
                    codeFollows = true;
                }
                else if (codeFollows && e.Data?.Trim() is { Length: > 0 } line)
                {
                    code.TrySetResult(line);
                    codeFollows = false;
                }
            }
        };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var exited = process.WaitForExitAsync(cancellationToken);
            if (await Task.WhenAny(code.Task, exited).WaitAsync(timeout, cancellationToken) != code.Task)
            {
                throw new InvalidOperationException($"{info.FileName} ended ({process.ExitCode}) before it printed a code:\n{Text(stderr)}");
            }

            await signIn(await code.Task);
            await exited.WaitAsync(timeout, cancellationToken);
            process.WaitForExit(); // the redirected streams are drained
            return new Result(process.ExitCode, Text(stdout), Text(stderr));
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static string Text(StringBuilder builder)
    {
        lock (builder)
        {
            return builder.ToString();
        }
    }
}

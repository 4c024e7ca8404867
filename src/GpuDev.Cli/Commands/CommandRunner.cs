using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands;

/// <summary>The one place where failures become <c>error:</c> lines and exit codes.</summary>
internal static class CommandRunner
{
    public const string PromptCancelledMessage = "cancelled; nothing was changed";

    public static async Task<int> RunAsync(CliServices services, CancellationToken ct, Func<CancellationToken, Task<int>> action)
    {
        try
        {
            return await action(ct).ConfigureAwait(false);
        }
        catch (CliException ex)
        {
            WriteError(services, ex.Messages, ex.Hint, ex);
            return ex.ExitCode;
        }
        catch (PromptCancelledException ex)
        {
            // Ctrl+C, Esc or q at a prompt: every command asks before it changes anything.
            services.Console.Error.WriteLine(PromptCancelledMessage);
            if (services.Debug)
            {
                services.Console.Error.WriteLine(ex.ToString());
            }

            return ExitCodes.Cancelled;
        }
        catch (OperationCanceledException ex) when (ct.IsCancellationRequested)
        {
            WriteError(services, ["cancelled"], null, ex);
            return ExitCodes.Cancelled;
        }
        catch (Exception ex)
        {
            WriteError(services, [ex.Message], services.Debug ? null : "set GPU_DEV_DEBUG=1 for details", ex);
            return ExitCodes.Failure;
        }
    }

    public static void WriteError(CliServices services, IReadOnlyList<string> messages, string? hint, Exception? exception = null)
    {
        var err = services.Console.Error;
        foreach (var message in messages)
        {
            err.WriteLine($"error: {message}");
        }

        if (hint is not null)
        {
            err.WriteLine($"hint: {hint}");
        }

        if (exception is not null && services.Debug)
        {
            err.WriteLine(exception.ToString());
        }
    }
}

using GpuDev.Cli;

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C: cancel. A prompt ends at once ("cancelled; nothing was changed"); a wait stops and says how to
    // resume. Both exit with 2.
    e.Cancel = true;
    if (!cts.IsCancellationRequested)
    {
        cts.Cancel();
        return;
    }

    // A second one means the first did not end the command: leave now, still with the documented code 2, and give
    // the cursor back in case a menu had hidden it.
    if (!Console.IsErrorRedirected)
    {
        Console.Error.Write("\u001b[?25h");
    }

    Environment.Exit(ExitCodes.Cancelled);
};

return await CliApp.RunAsync(args, CliServices.CreateDefault(), cts.Token).ConfigureAwait(false);

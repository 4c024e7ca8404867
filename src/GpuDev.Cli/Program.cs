using GpuDev.Cli;

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C: stop waiting (commands print how to resume); a second one kills the process.
    if (!cts.IsCancellationRequested)
    {
        e.Cancel = true;
        cts.Cancel();
    }
};

return await CliApp.RunAsync(args, CliServices.CreateDefault(), cts.Token).ConfigureAwait(false);

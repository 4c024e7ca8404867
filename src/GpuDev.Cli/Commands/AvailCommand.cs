using System.CommandLine;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev avail [--watch] [--json]</c>: free GPUs per type, the largest block one node can give, the queue and ETAs.</summary>
internal sealed class AvailCommand : CliCommand
{
    private readonly Option<bool> _watch = new("--watch") { Description = "Refresh every 5 seconds until Ctrl+C" };
    private readonly Option<bool> _json = CommonOptions.Json();

    public AvailCommand(CliServices services)
        : base(services, "avail", "Check GPU availability by type: free GPUs, largest block on one node, queue, when GPUs free up.")
    {
        Options.Add(_watch);
        Options.Add(_json);
        Examples.Add("gpu-dev avail");
        Examples.Add("gpu-dev avail --watch");
        Examples.Add("gpu-dev avail --json");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var json = parseResult.GetValue(_json);
        var client = Services.CreateClient();
        var console = Services.Console;

        if (!parseResult.GetValue(_watch))
        {
            Render(await client.GetAvailabilityAsync(cancellationToken).ConfigureAwait(false));
            return ExitCodes.Success;
        }

        return await WatchLoop.RunAsync(Services, Services.AvailWatchInterval, "gpu-dev avail", console.IsOutputTty && !json,
            client.GetAvailabilityAsync, Render, cancellationToken).ConfigureAwait(false);

        void Render(AvailabilityResponse availability)
        {
            if (json)
            {
                JsonOutput.Write(console.Out, availability);
                return;
            }

            if (availability.Types.Count == 0)
            {
                if (console.IsOutputTty)
                {
                    console.Error.WriteLine("This server has no GPU nodes.");
                }

                return;
            }

            AvailabilityTable.Write(console, availability, Services.Time.GetUtcNow());
        }
    }
}

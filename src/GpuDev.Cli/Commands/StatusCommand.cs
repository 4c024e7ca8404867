using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev status [--json]</c>: the fleet's capacity, what is reserved, the queue, and each node.</summary>
internal sealed class StatusCommand : CliCommand
{
    private readonly Option<bool> _json = CommonOptions.Json();

    public StatusCommand(CliServices services)
        : base(services, "status", "Show overall cluster status: capacity, reserved and free GPUs, queue length, nodes.")
    {
        Options.Add(_json);
        Examples.Add("gpu-dev status");
        Examples.Add("gpu-dev status --json");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var client = Services.CreateClient();
        var status = await client.GetStatusAsync(cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, status);
        }
        else
        {
            ClusterStatusView.Write(Services.Console, status, Services.Time.GetUtcNow());
        }

        return ExitCodes.Success;
    }
}

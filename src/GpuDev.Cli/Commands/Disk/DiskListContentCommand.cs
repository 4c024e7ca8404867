using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands.Disk;

/// <summary><c>gpu-dev disk list-content NAME [--json]</c>: files in the disk's latest snapshot.</summary>
internal sealed class DiskListContentCommand : CliCommand
{
    private readonly Argument<string> _name = DiskNames.Argument();
    private readonly Option<bool> _json = CommonOptions.Json();

    public DiskListContentCommand(CliServices services)
        : base(services, "list-content", "List the files in the latest snapshot of a disk.")
    {
        Arguments.Add(_name);
        Options.Add(_json);
        Examples.Add("gpu-dev disk list-content my-project");
        Examples.Add("gpu-dev disk list-content my-project --json");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var name = parseResult.GetValue(_name);
        DiskNames.ValidateExisting(name);

        var content = await Services.CreateClient().GetDiskContentAsync(name!, cancellationToken).ConfigureAwait(false);
        var console = Services.Console;
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(console.Out, content);
            return ExitCodes.Success;
        }

        if (content.SnapshotId is null)
        {
            console.Error.WriteLine($"Disk {content.Disk} has no snapshot yet (one is taken when a reservation using it ends).");
            return ExitCodes.Success;
        }

        DiskTable.WriteContent(console, content, Services.Time.GetUtcNow());
        return ExitCodes.Success;
    }
}

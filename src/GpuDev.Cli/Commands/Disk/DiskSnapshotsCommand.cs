using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands.Disk;

/// <summary><c>gpu-dev disk snapshots NAME [--json]</c>: the disk's snapshots, newest first.</summary>
internal sealed class DiskSnapshotsCommand : CliCommand
{
    private readonly Argument<string> _name = DiskNames.Argument();
    private readonly Option<bool> _json = CommonOptions.Json();

    public DiskSnapshotsCommand(CliServices services)
        : base(services, "snapshots", "List the snapshots of a disk, newest first (restore one with `gpu-dev disk restore`).")
    {
        Arguments.Add(_name);
        Options.Add(_json);
        Examples.Add("gpu-dev disk snapshots my-project");
        Examples.Add("gpu-dev disk snapshots my-project --json");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var name = parseResult.GetValue(_name);
        DiskNames.ValidateExisting(name);
        var snapshots = await Services.CreateClient().ListDiskSnapshotsAsync(name!, cancellationToken).ConfigureAwait(false);
        var console = Services.Console;
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(console.Out, snapshots);
            return ExitCodes.Success;
        }

        if (snapshots.Count == 0)
        {
            console.Error.WriteLine($"Disk {name} has no snapshot yet (one is taken when a reservation using it ends).");
            return ExitCodes.Success;
        }

        DiskTable.WriteSnapshots(console, snapshots, Services.Time.GetUtcNow());
        return ExitCodes.Success;
    }
}

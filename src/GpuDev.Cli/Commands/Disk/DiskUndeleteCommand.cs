using System.CommandLine;
using GpuDev.Cli.Client;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands.Disk;

/// <summary><c>gpu-dev disk undelete NAME</c>: bring back a soft-deleted disk before its snapshots are purged.</summary>
internal sealed class DiskUndeleteCommand : CliCommand
{
    private readonly Argument<string> _name = DiskNames.Argument();
    private readonly Option<bool> _json = CommonOptions.Json();

    public DiskUndeleteCommand(CliServices services)
        : base(services, "undelete", $"Bring back a deleted disk (possible for {DiskCommands.PurgeDays} days, until its snapshots are purged).")
    {
        Arguments.Add(_name);
        Options.Add(_json);
        Examples.Add("gpu-dev disk undelete old-experiments");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var name = parseResult.GetValue(_name)!;
        DiskNames.ValidateExisting(name);
        DiskDto disk;
        try
        {
            disk = await Services.CreateClient().UndeleteDiskAsync(name, cancellationToken).ConfigureAwait(false);
        }
        catch (CliException ex) when (ex.ProblemCode == ProblemCodes.Conflict)
        {
            throw new CliException(ex.ExitCode, ex.Messages, $"rename the current disk first (`gpu-dev disk rename {name} NEW_NAME`), then undelete", ex)
            {
                ProblemCode = ex.ProblemCode,
            };
        }

        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, disk);
            return ExitCodes.Success;
        }

        var snapshots = disk.SnapshotCount == 1 ? "1 snapshot" : $"{disk.SnapshotCount} snapshots";
        Services.Console.Out.WriteLine($"Undeleted disk {disk.Name} ({snapshots})");
        Services.Console.Error.WriteLine($"Use it with `gpu-dev reserve --disk {disk.Name}`.");
        return ExitCodes.Success;
    }
}

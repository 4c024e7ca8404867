using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands.Disk;

/// <summary><c>gpu-dev disk rename OLD NEW</c>.</summary>
internal sealed class DiskRenameCommand : CliCommand
{
    private readonly Argument<string> _old = DiskNames.Argument("OLD_NAME", "Current disk name");
    private readonly Argument<string> _new = DiskNames.Argument("NEW_NAME", "New disk name (letters, digits, - and _)");
    private readonly Option<bool> _json = CommonOptions.Json();

    public DiskRenameCommand(CliServices services)
        : base(services, "rename", "Rename a disk (its snapshots and history move with it).")
    {
        Arguments.Add(_old);
        Arguments.Add(_new);
        Options.Add(_json);
        Examples.Add("gpu-dev disk rename my-project pytorch-dev");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var oldName = parseResult.GetValue(_old);
        var newName = parseResult.GetValue(_new);
        DiskNames.ValidateExisting(oldName);
        DiskNames.Validate(newName);
        var disk = await Services.CreateClient().RenameDiskAsync(oldName!, newName!, cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, disk);
            return ExitCodes.Success;
        }

        Services.Console.Out.WriteLine($"Renamed disk {oldName} to {disk.Name}");
        return ExitCodes.Success;
    }
}

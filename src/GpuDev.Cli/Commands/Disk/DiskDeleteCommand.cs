using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands.Disk;

/// <summary><c>gpu-dev disk delete NAME [-y]</c>: soft delete; snapshots are purged after 30 days.</summary>
internal sealed class DiskDeleteCommand : CliCommand
{
    private readonly Argument<string> _name = DiskNames.Argument();
    private readonly Option<bool> _yes = CommonOptions.Yes();
    private readonly Option<bool> _json = CommonOptions.Json();

    public DiskDeleteCommand(CliServices services)
        : base(services, "delete", $"Soft-delete a disk; its snapshots are purged for good after {DiskCommands.PurgeDays} days.")
    {
        Arguments.Add(_name);
        Options.Add(_yes);
        Options.Add(_json);
        Examples.Add("gpu-dev disk delete old-experiments");
        Examples.Add("gpu-dev disk delete old-experiments --yes");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var name = parseResult.GetValue(_name);
        DiskNames.ValidateExisting(name);

        var yes = parseResult.GetValue(_yes);
        var console = Services.Console;
        if (!yes && !Services.CanPrompt)
        {
            throw CliException.Usage("--yes is required to delete a disk when not running in a terminal", $"e.g. `gpu-dev disk delete {name} --yes`");
        }

        var client = Services.CreateClient();
        if (!yes && !console.Confirm($"Delete disk {name}? Its snapshots are purged for good after {DiskCommands.PurgeDays} days.", defaultValue: false, cancellationToken))
        {
            console.Error.WriteLine("Nothing deleted.");
            return ExitCodes.Cancelled;
        }

        var disk = await client.DeleteDiskAsync(name!, cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(console.Out, disk);
            return ExitCodes.Success;
        }

        var now = Services.Time.GetUtcNow();
        var purge = disk.PurgeAt is { } at ? $"; its snapshots are purged {Format.Relative(at, now)} ({Format.LocalTime(at, now)})" : string.Empty;
        console.Out.WriteLine($"Deleted disk {disk.Name}{purge}");
        return ExitCodes.Success;
    }
}

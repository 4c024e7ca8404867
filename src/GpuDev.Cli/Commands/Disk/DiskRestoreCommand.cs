using System.CommandLine;
using GpuDev.Cli.Client;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands.Disk;

/// <summary><c>gpu-dev disk restore NAME [--snapshot ID] [-y]</c>: replace the disk's content with one of its snapshots.</summary>
internal sealed class DiskRestoreCommand : CliCommand
{
    private readonly Argument<string> _name = DiskNames.Argument();
    private readonly Option<string> _snapshot = new("--snapshot", "-s") { Description = "Snapshot ID or a unique prefix of it (see `gpu-dev disk snapshots NAME`); default: pick one on a terminal, else the latest" };
    private readonly Option<bool> _yes = CommonOptions.Yes();
    private readonly Option<bool> _json = CommonOptions.Json();

    public DiskRestoreCommand(CliServices services)
        : base(services, "restore", "Replace the content of a disk with one of its snapshots (the latest by default).")
    {
        Arguments.Add(_name);
        Options.Add(_snapshot);
        Options.Add(_yes);
        Options.Add(_json);
        Examples.Add("gpu-dev disk restore my-project   # pick a snapshot");
        Examples.Add("gpu-dev disk restore my-project --snapshot 3f2a9c1e --yes");
        Examples.Add("gpu-dev disk restore my-project --yes   # the latest snapshot");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var name = parseResult.GetValue(_name)!;
        DiskNames.ValidateExisting(name);
        var snapshotId = parseResult.GetValue(_snapshot);
        if (snapshotId is not null && string.IsNullOrWhiteSpace(snapshotId))
        {
            throw CliException.Usage("--snapshot needs a snapshot ID", $"see them with `gpu-dev disk snapshots {name}`");
        }

        var yes = parseResult.GetValue(_yes);
        var console = Services.Console;
        if (!yes && !Services.CanPrompt)
        {
            throw CliException.Usage("--yes is required to restore a disk when not running in a terminal",
                $"e.g. `gpu-dev disk restore {name} --yes` (the latest snapshot) or `gpu-dev disk restore {name} --snapshot ID --yes`");
        }

        var client = Services.CreateClient();
        var now = Services.Time.GetUtcNow();
        DiskSnapshotDto? snapshot = null;
        if (snapshotId is not null || !yes)
        {
            var snapshots = await client.ListDiskSnapshotsAsync(name, cancellationToken).ConfigureAwait(false);
            if (snapshots.Count == 0)
            {
                throw new CliException(ExitCodes.Failure, $"disk {name} has no snapshot yet; nothing to restore",
                    "one is taken when a reservation using it ends");
            }

            snapshot = snapshotId is not null ? Find(snapshots, name, snapshotId) : Choose(snapshots, now, cancellationToken);
        }

        var when = snapshot is null ? null : When(snapshot.CreatedAt, now);
        if (!yes && !console.Confirm($"Replace the content of {name} with the snapshot of {when}? The current content is kept until the next snapshot.", defaultValue: false, cancellationToken))
        {
            console.Error.WriteLine("Nothing restored.");
            return ExitCodes.Cancelled;
        }

        DiskDto disk;
        try
        {
            disk = await client.RestoreDiskAsync(name, snapshot?.Id, cancellationToken,
                $"see your disks with `gpu-dev disk list` and a disk's snapshots with `gpu-dev disk snapshots {name}`").ConfigureAwait(false);
        }
        catch (CliException ex) when (ex.ProblemCode == ProblemCodes.Conflict)
        {
            throw new CliException(ex.ExitCode, ex.Messages, "a disk in use cannot be restored: wait until its reservation ends (or cancel it); see `gpu-dev disk list`", ex)
            {
                ProblemCode = ex.ProblemCode,
            };
        }

        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(console.Out, disk);
            return ExitCodes.Success;
        }

        console.Out.WriteLine(snapshot is null
            ? $"Restored disk {disk.Name} from its latest snapshot"
            : $"Restored disk {disk.Name} from the snapshot of {when} ({Format.ShortId(snapshot.Id)})");
        return ExitCodes.Success;
    }

    private static string When(DateTimeOffset at, DateTimeOffset now) => $"{Format.LocalTime(at, now)} ({Format.Relative(at, now)})";

    /// <summary>The snapshot with this ID, else the only one whose ID starts with it.</summary>
    internal static DiskSnapshotDto Find(IReadOnlyList<DiskSnapshotDto> snapshots, string disk, string id)
    {
        if (snapshots.FirstOrDefault(s => string.Equals(s.Id, id, StringComparison.OrdinalIgnoreCase)) is { } exact)
        {
            return exact;
        }

        var matches = snapshots.Where(s => s.Id.StartsWith(id, StringComparison.OrdinalIgnoreCase)).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new CliException(ExitCodes.Failure, $"disk {disk} has no snapshot \"{id}\"", $"see its snapshots with `gpu-dev disk snapshots {disk}`"),
            _ => throw new CliException(ExitCodes.Failure, $"\"{id}\" matches {matches.Count} snapshots of disk {disk}; give more characters of the ID",
                $"see its snapshots with `gpu-dev disk snapshots {disk}`"),
        };
    }

    /// <summary>Selection prompt over the snapshots, newest first: "3f2a9c1e  2030-01-01 10:00 (1d ago)  1.2 GB, 42 files, reservation abcd1234  (latest)".</summary>
    private DiskSnapshotDto Choose(List<DiskSnapshotDto> snapshots, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var labels = SnapshotChoices(snapshots, now);
        var chosen = Services.Console.Select("Restore which snapshot? (newest first)", labels, cancellationToken);
        return snapshots.OrderByDescending(s => s.CreatedAt).ElementAt(chosen);
    }

    internal static IReadOnlyList<string> SnapshotChoices(IEnumerable<DiskSnapshotDto> snapshots, DateTimeOffset now) =>
        snapshots.OrderByDescending(s => s.CreatedAt).Select((s, i) =>
        {
            var files = $"{s.FileCount} file{(s.FileCount == 1 ? string.Empty : "s")}";
            var by = s.Reservation is { Length: > 0 } r ? $", reservation {Format.ShortId(r)}" : string.Empty;
            return $"{Format.ShortId(s.Id)}  {When(s.CreatedAt, now)}  {DiskTable.Bytes(s.SizeBytes)}, {files}{by}{(i == 0 ? "  (latest)" : string.Empty)}";
        }).ToList();
}

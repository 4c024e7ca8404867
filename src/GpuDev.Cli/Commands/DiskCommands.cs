using System.CommandLine;
using GpuDev.Cli.Client;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands;

/// <summary>The disk name rule shared with the server: 1–64 of <c>[A-Za-z0-9_-]</c>, starting with a letter or digit (so a
/// name is never read as an option); <c>none</c> is reserved.</summary>
internal static class DiskNames
{
    public const int MaxLength = 64;

    public const string Rule = "1–64 letters, digits, hyphens (-) or underscores (_), starting with a letter or digit";

    public static bool IsNone(string? name) => string.Equals(name, "none", StringComparison.OrdinalIgnoreCase);

    /// <summary>Null when <paramref name="name"/> is a valid disk name, else the one-line reason.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength || !char.IsAsciiLetterOrDigit(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return $"invalid disk name \"{name}\": use {Rule}";
        }

        return IsNone(name) ? "\"none\" cannot be a disk name: `--disk none` means temporary storage" : null;
    }

    public static void Validate(string? name)
    {
        if (Problem(name) is { } problem)
        {
            throw CliException.Usage(problem);
        }
    }

    /// <summary>Like <see cref="Validate"/>, but lets <c>none</c> through (an existing disk may predate the rule).</summary>
    public static void ValidateExisting(string? name)
    {
        if (Problem(name) is { } problem && !IsNone(name))
        {
            throw CliException.Usage(problem);
        }
    }

    public static Argument<string> Argument(string name = "DISK_NAME", string description = "Disk name (letters, digits, - and _)") =>
        new(name) { Description = description };
}

/// <summary>Builds <c>gpu-dev disk</c> and its subcommands.</summary>
internal static class DiskCommands
{
    public const int PurgeDays = 30;

    public static Command Build(CliServices services)
    {
        var disk = new Command("disk", "Manage named persistent disks (mounted as /home/dev in reservations).");
        disk.Subcommands.Add(new DiskListCommand(services));
        disk.Subcommands.Add(new DiskCreateCommand(services));
        disk.Subcommands.Add(new DiskDeleteCommand(services));
        disk.Subcommands.Add(new DiskListContentCommand(services));
        disk.Subcommands.Add(new DiskRenameCommand(services));
        disk.Subcommands.Add(new DiskSnapshotsCommand(services));
        disk.Subcommands.Add(new DiskRestoreCommand(services));
        disk.Subcommands.Add(new DiskUndeleteCommand(services));
        return disk;
    }
}

/// <summary><c>gpu-dev disk list [--watch] [--user U] [--all] [--json]</c>.</summary>
internal sealed class DiskListCommand : CliCommand
{
    private readonly Option<bool> _watch = new("--watch") { Description = "Continuously refresh every 2 seconds until Ctrl+C" };
    private readonly Option<string> _user = new("--user", "-u") { Description = "Show this user's disks, deleted ones included (admins only)" };
    private readonly Option<bool> _all = new("--all", "-a") { Description = "Include deleted disks (until their snapshots are purged)" };
    private readonly Option<bool> _json = CommonOptions.Json();

    public DiskListCommand(CliServices services)
        : base(services, "list", "List your disks: size, created, last used, snapshots and status.")
    {
        Aliases.Add("ls");
        Options.Add(_watch);
        Options.Add(_user);
        Options.Add(_all);
        Options.Add(_json);
        Examples.Add("gpu-dev disk list");
        Examples.Add("gpu-dev disk list --all --json");
        Examples.Add("gpu-dev disk list --watch");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var user = parseResult.GetValue(_user);
        var all = parseResult.GetValue(_all);
        var json = parseResult.GetValue(_json);
        var client = Services.CreateClient();
        var console = Services.Console;

        if (!parseResult.GetValue(_watch))
        {
            Render(await client.ListDisksAsync(user, all, cancellationToken).ConfigureAwait(false));
            return ExitCodes.Success;
        }

        return await WatchLoop.RunAsync(Services, Services.WatchInterval, "gpu-dev disk list", console.IsOutputTty && !json,
            ct => client.ListDisksAsync(user, all, ct), Render, cancellationToken).ConfigureAwait(false);

        void Render(List<DiskDto> disks)
        {
            if (json)
            {
                JsonOutput.Write(console.Out, disks);
                return;
            }

            if (disks.Count == 0)
            {
                if (console.IsOutputTty)
                {
                    console.Error.WriteLine(user is null
                        ? "No disks yet; create one with `gpu-dev disk create NAME` (or `gpu-dev reserve --disk NAME`)"
                        : $"No disks found for {user}");
                }

                return;
            }

            var showUser = user is not null && disks.Any(d => d.User != disks[0].User);
            DiskTable.Write(console, disks, Services.Time.GetUtcNow(), showUser);
        }
    }
}

/// <summary><c>gpu-dev disk create NAME</c>.</summary>
internal sealed class DiskCreateCommand : CliCommand
{
    private readonly Argument<string> _name = DiskNames.Argument();
    private readonly Option<bool> _json = CommonOptions.Json();

    public DiskCreateCommand(CliServices services)
        : base(services, "create", "Create a named persistent disk (letters, digits, - and _).")
    {
        Arguments.Add(_name);
        Options.Add(_json);
        Examples.Add("gpu-dev disk create my-project");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var name = parseResult.GetValue(_name);
        DiskNames.Validate(name);
        var disk = await Services.CreateClient().CreateDiskAsync(name!, cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, disk);
            return ExitCodes.Success;
        }

        Services.Console.Out.WriteLine($"Created disk {disk.Name} ({DiskTable.Bytes(disk.QuotaBytes)})");
        Services.Console.Error.WriteLine($"Use it with `gpu-dev reserve --disk {disk.Name}`.");
        return ExitCodes.Success;
    }
}

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
        if (DiskNames.Problem(oldName) is { } problem && !DiskNames.IsNone(oldName))
        {
            throw CliException.Usage(problem);
        }

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

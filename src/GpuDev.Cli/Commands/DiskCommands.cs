using System.CommandLine;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands;

/// <summary>The disk name rule shared with the server: 1–64 of <c>[A-Za-z0-9_-]</c>; <c>none</c> is reserved.</summary>
internal static class DiskNames
{
    public const int MaxLength = 64;

    public const string Rule = "1–64 letters, digits, hyphens (-) or underscores (_)";

    public static bool IsNone(string? name) => string.Equals(name, "none", StringComparison.OrdinalIgnoreCase);

    /// <summary>Null when <paramref name="name"/> is a valid disk name, else the one-line reason.</summary>
    public static string? Problem(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxLength || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
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
        if (DiskNames.Problem(name) is { } problem && !DiskNames.IsNone(name))
        {
            throw CliException.Usage(problem);
        }

        var yes = parseResult.GetValue(_yes);
        var console = Services.Console;
        if (!yes && !Services.CanPrompt)
        {
            throw CliException.Usage("--yes is required to delete a disk when not running in a terminal", $"e.g. `gpu-dev disk delete {name} --yes`");
        }

        var client = Services.CreateClient();
        if (!yes && !console.Confirm($"Delete disk {name}? Its snapshots are purged for good after {DiskCommands.PurgeDays} days.", defaultValue: false))
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
        if (DiskNames.Problem(name) is { } problem && !DiskNames.IsNone(name))
        {
            throw CliException.Usage(problem);
        }

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

using System.CommandLine;

namespace GpuDev.Cli.Commands.Disk;

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

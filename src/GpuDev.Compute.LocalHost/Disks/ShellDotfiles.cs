using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost.Disks;

/// <summary>For <c>--recreate-env</c>: the home's shell start-up files move into <c>.gpu-dev-env-backup-&lt;time&gt;/</c> and fresh
/// ones are copied from the skeleton directory, owned like the data directory. Runs only while no process of the disk's user
/// runs, and never follows a symlink of the user's (rename moves a link itself; the copy fails rather than write through one).
/// Callers hold the disk's lock.</summary>
/// <param name="skelDir">Where fresh dotfiles come from (<c>/etc/skel</c>).</param>
internal sealed class ShellDotfiles(DiskPrograms programs, string skelDir, TimeProvider timeProvider, ILogger logger)
{
    /// <summary>The shell start-up files that are moved aside.</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile",
        ".zshrc", ".zprofile", ".zshenv", ".zlogin", ".zlogout", ".inputrc",
    ];

    private const string BackupPrefix = ".gpu-dev-env-backup-";

    /// <returns>The backup directory, or null when there was nothing to move.</returns>
    public async Task<string?> RecreateAsync(string diskId, string data, CancellationToken cancellationToken)
    {
        var (uid, gid) = await programs.OwnerAsync(data, cancellationToken).ConfigureAwait(false);
        var present = Names.Where(n => DiskFiles.PathExists(Path.Combine(data, n))).ToList();
        string? backup = null;
        List<string> toChown = [];
        if (present.Count > 0)
        {
            // A fresh name that is not there in any form (a symlink planted under a guessable name is never followed).
            backup = DiskFiles.UniqueName(data, BackupPrefix + DiskFiles.Stamp(timeProvider));
            DiskFiles.EnsureDir(backup, DiskFiles.Mode700);
            toChown.Add(backup);
            foreach (var name in present)
            {
                // rename(2) moves a symlink itself, never its target.
                var source = Path.Combine(data, name);
                var target = Path.Combine(backup, name);
                if (Directory.Exists(source) && new FileInfo(source).LinkTarget is null)
                {
                    Directory.Move(source, target);
                }
                else
                {
                    File.Move(source, target);
                }
            }
        }

        foreach (var name in Names)
        {
            var skel = Path.Combine(skelDir, name);
            var target = Path.Combine(data, name);
            if (File.Exists(skel) && !DiskFiles.PathExists(target))
            {
                // File.Copy without overwrite creates with O_EXCL: it fails rather than write through a symlink.
                File.Copy(skel, target, overwrite: false);
                DiskFiles.SetMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
                toChown.Add(target);
            }
        }

        if ((uid != 0 || gid != 0) && toChown.Count > 0)
        {
            await programs.ChownAsync(toChown, uid, gid, cancellationToken).ConfigureAwait(false);
            if (backup is not null)
            {
                await programs.ChownTreeAsync(backup, uid, gid, cancellationToken).ConfigureAwait(false);
            }
        }

        DiskLog.DotfilesRecreated(logger, diskId, backup ?? "(nothing to back up)", skelDir);
        return backup;
    }
}

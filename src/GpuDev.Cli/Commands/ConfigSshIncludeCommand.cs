using System.CommandLine;
using GpuDev.Cli.Ssh;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev config ssh-include enable|disable</c>: add or remove <c>Include ~/.gpu-dev/*-sshconfig</c> at the top
/// of ~/.ssh/config and ~/.cursor/ssh_config, so <c>ssh gpu-dev-ID8</c>, VS Code and Cursor find reservations.</summary>
internal sealed class ConfigSshIncludeCommand : CliCommand
{
    private readonly bool _enable;

    public ConfigSshIncludeCommand(CliServices services, bool enable)
        : base(services, enable ? "enable" : "disable", enable
            ? "Add `Include ~/.gpu-dev/*-sshconfig` at the top of ~/.ssh/config and ~/.cursor/ssh_config (idempotent)."
            : "Remove the `Include ~/.gpu-dev/*-sshconfig` line from ~/.ssh/config and ~/.cursor/ssh_config (other lines untouched).")
    {
        _enable = enable;
        Examples.Add($"gpu-dev config ssh-include {Name}");
    }

    public static Command BuildParent(CliServices services)
    {
        var parent = new Command("ssh-include",
            "Add or remove `Include ~/.gpu-dev/*-sshconfig` in ~/.ssh/config and ~/.cursor/ssh_config, so `ssh gpu-dev-ID8`, "
            + "VS Code and Cursor reach reservations (with agent forwarding and the reservation's pinned host key).");
        parent.Subcommands.Add(new ConfigSshIncludeCommand(services, enable: true));
        parent.Subcommands.Add(new ConfigSshIncludeCommand(services, enable: false));
        return parent;
    }

    public override Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var include = Services.SshInclude;
        var err = Services.Console.Error;
        foreach (var (display, path) in include.Files)
        {
            IncludeChange change;
            try
            {
                change = _enable ? include.Enable(path) : include.Disable(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException(ExitCodes.Failure, $"cannot update {display}: {ex.Message}");
            }

            err.WriteLine(change switch
            {
                IncludeChange.Created => $"{display}: created with `{include.IncludeLine}`",
                IncludeChange.Added => $"{display}: added `{include.IncludeLine}` at the top",
                IncludeChange.AlreadyPresent => $"{display}: already includes it (unchanged)",
                IncludeChange.Removed => $"{display}: removed `{include.IncludeLine}`",
                IncludeChange.NotPresent => $"{display}: has no gpu-dev Include (unchanged)",
                _ => $"{display}: does not exist (unchanged)",
            });
        }

        if (_enable)
        {
            err.WriteLine("Active reservations are reachable as `ssh gpu-dev-ID8` (see `gpu-dev show`).");
        }

        return Task.FromResult(ExitCodes.Success);
    }
}

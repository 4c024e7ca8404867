using System.CommandLine;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands.Disk;

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

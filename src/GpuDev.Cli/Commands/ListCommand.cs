using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev list</c> (alias <c>ls</c>).</summary>
internal sealed class ListCommand : CliCommand
{
    private readonly Option<string> _user = new("--user", "-u") { Description = "Show this user's reservations, or `all` for everybody's" };
    private readonly Option<string> _status = new("--status", "-s") { Description = $"Only this status: {string.Join(", ", Format.Statuses)}" };
    private readonly Option<bool> _all = new("--all", "-a") { Description = "Include ended reservations (expired, cancelled, failed)" };
    private readonly Option<bool> _watch = new("--watch") { Description = "Refresh every 2 seconds until Ctrl+C" };
    private readonly Option<bool> _json = CommonOptions.Json();

    public ListCommand(CliServices services)
        : base(services, "list", "List your reservations (by default those not yet ended).")
    {
        Aliases.Add("ls");
        Options.Add(_user);
        Options.Add(_status);
        Options.Add(_all);
        Options.Add(_watch);
        Options.Add(_json);
        Examples.Add("gpu-dev list");
        Examples.Add("gpu-dev list --all --json");
        Examples.Add("gpu-dev ls -u all -s queued");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var status = parseResult.GetValue(_status)?.Trim().ToLowerInvariant();
        if (status is not null && !Format.Statuses.Contains(status))
        {
            throw CliException.Usage($"--status must be one of {string.Join(", ", Format.Statuses)}; got \"{parseResult.GetValue(_status)}\"");
        }

        var user = parseResult.GetValue(_user);
        var all = parseResult.GetValue(_all);
        var json = parseResult.GetValue(_json);
        var client = Services.CreateClient();
        var console = Services.Console;

        if (!parseResult.GetValue(_watch))
        {
            var reservations = await client.ListReservationsAsync(user, status, all, cancellationToken).ConfigureAwait(false);
            Render(reservations);
            return ExitCodes.Success;
        }

        return await WatchLoop.RunAsync(Services, Services.WatchInterval, "gpu-dev list", console.IsOutputTty && !json,
            ct => client.ListReservationsAsync(user, status, all, ct), Render, cancellationToken).ConfigureAwait(false);

        void Render(List<GpuDev.Contracts.ReservationDto> reservations)
        {
            Services.SshFiles.SyncAll(reservations, console.Error);
            if (json)
            {
                JsonOutput.Write(console.Out, reservations);
                return;
            }

            if (reservations.Count == 0)
            {
                if (console.IsOutputTty)
                {
                    console.Error.WriteLine(all ? "No reservations found" : "No reservations found (use --all to include ended ones)");
                }

                return;
            }

            ReservationTable.Write(console, reservations, Services.Time.GetUtcNow());
        }
    }
}

using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev show [ID]</c>: details of one reservation, or of each of your current ones.</summary>
internal sealed class ShowCommand : CliCommand
{
    private readonly Argument<string> _id = CommonOptions.ReservationId("Reservation ID or unique prefix; default: your current reservations");
    private readonly Option<bool> _json = CommonOptions.Json();

    public ShowCommand(CliServices services)
        : base(services, "show", "Show details of a reservation (default: your current ones).")
    {
        Arguments.Add(_id);
        Options.Add(_json);
        Examples.Add("gpu-dev show 1a2b3c4d");
        Examples.Add("gpu-dev show 1a2b --json");
        Examples.Add("gpu-dev show");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var id = parseResult.GetValue(_id);
        var json = parseResult.GetValue(_json);
        var client = Services.CreateClient();
        var console = Services.Console;
        var now = Services.Time.GetUtcNow();

        if (!string.IsNullOrWhiteSpace(id))
        {
            var reservation = await client.GetReservationAsync(id.Trim(), cancellationToken).ConfigureAwait(false);
            Services.SshFiles.Sync(reservation, console.Error);
            if (json)
            {
                JsonOutput.Write(console.Out, reservation);
            }
            else
            {
                ReservationView.Write(console, reservation, now);
                WriteIncludeHint(Services, [reservation]);
            }

            return ExitCodes.Success;
        }

        var mine = await client.ListReservationsAsync(null, null, false, cancellationToken).ConfigureAwait(false);
        Services.SshFiles.SyncAll(mine, console.Error);
        if (json)
        {
            JsonOutput.Write(console.Out, mine);
            return ExitCodes.Success;
        }

        if (mine.Count == 0)
        {
            console.Error.WriteLine("You have no current reservations (see `gpu-dev list --all` for ended ones).");
            return ExitCodes.Success;
        }

        for (var i = 0; i < mine.Count; i++)
        {
            if (i > 0)
            {
                console.Out.WriteLine();
            }

            ReservationView.Write(console, mine[i], now);
        }

        WriteIncludeHint(Services, mine);
        return ExitCodes.Success;
    }

    /// <summary>When an active reservation has an ssh alias but ~/.ssh/config does not include ~/.gpu-dev/*-sshconfig.</summary>
    public static void WriteIncludeHint(CliServices services, IEnumerable<GpuDev.Contracts.ReservationDto> shown)
    {
        if (shown.Any(r => r.Status == "active" && (r.Ssh is not null || r.Nodes.Any(n => n.Ssh is not null))) && !services.SshInclude.IsEnabled())
        {
            services.Console.Error.WriteLine("hint: run `gpu-dev config ssh-include enable` for the alias to work");
        }
    }
}

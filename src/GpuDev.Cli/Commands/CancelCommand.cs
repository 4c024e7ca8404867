using System.CommandLine;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev cancel [ID] [-a] [-y]</c>: cancel reservations, confirming on a terminal.</summary>
internal sealed class CancelCommand : CliCommand
{
    public const string CancelAllChoice = "cancel all";

    private readonly Argument<string> _id = CommonOptions.ReservationId("Reservation ID or unique prefix; on a terminal, omit it to pick from a list");
    private readonly Option<bool> _all = new("--all", "-a") { Description = "Cancel all your current reservations" };
    private readonly Option<bool> _yes = CommonOptions.Yes();

    public CancelCommand(CliServices services)
        : base(services, "cancel", "Cancel a reservation (its machine is released).")
    {
        Arguments.Add(_id);
        Options.Add(_all);
        Options.Add(_yes);
        Examples.Add("gpu-dev cancel 1a2b3c4d");
        Examples.Add("gpu-dev cancel 1a2b --yes");
        Examples.Add("gpu-dev cancel --all --yes");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var id = parseResult.GetValue(_id);
        var all = parseResult.GetValue(_all);
        var yes = parseResult.GetValue(_yes);
        var canPrompt = Services.CanPrompt;
        var console = Services.Console;

        if (id is not null && all)
        {
            throw CliException.Usage("give either a reservation ID or --all, not both");
        }

        if (id is null && !all && !canPrompt)
        {
            throw CliException.Usage("a reservation ID is required when not running in a terminal", "e.g. `gpu-dev cancel 1a2b3c4d --yes`, or `--all --yes`");
        }

        if (!yes && !canPrompt)
        {
            throw CliException.Usage("--yes is required to cancel when not running in a terminal", $"e.g. `gpu-dev cancel {id ?? "--all"} --yes`");
        }

        var client = Services.CreateClient();
        List<ReservationDto> targets;
        if (all || id is null)
        {
            targets = await client.ListReservationsAsync(null, null, false, cancellationToken).ConfigureAwait(false);
            Services.SshFiles.SyncAll(targets, console.Error);
            targets = targets.Where(r => !Format.IsTerminal(r.Status) && r.CanEdit).ToList();
            if (targets.Count == 0)
            {
                console.Error.WriteLine("You have no reservations to cancel.");
                return ExitCodes.Success;
            }

            if (!all)
            {
                var labels = targets.Select(r => $"{Format.ShortId(r.Id)}  {r.Name ?? "-"}  {Format.Gpus(r)}  {r.Status}").ToList();
                var allLabel = $"{CancelAllChoice} ({targets.Count})";
                var choice = console.Select("Cancel which reservation?", targets.Count > 1 ? [.. labels, allLabel] : labels, cancellationToken);
                if (choice < labels.Count)
                {
                    targets = [targets[choice]];
                }
            }
        }
        else if (!yes)
        {
            var target = await client.GetReservationAsync(id, cancellationToken).ConfigureAwait(false);
            Services.SshFiles.Sync(target, console.Error);
            targets = [target];
        }
        else
        {
            var cancelled = await client.CancelReservationAsync(id, cancellationToken).ConfigureAwait(false);
            Services.SshFiles.Sync(cancelled, console.Error);
            console.Out.WriteLine($"Cancelled reservation {Format.ShortId(cancelled.Id)}");
            return ExitCodes.Success;
        }

        if (!yes)
        {
            var question = targets.Count == 1
                ? $"Cancel reservation {Format.ShortId(targets[0].Id)} ({targets[0].Name ?? "unnamed"}, {Format.Gpus(targets[0])}, {targets[0].Status})?"
                : $"Cancel {targets.Count} reservations ({string.Join(", ", targets.Select(r => Format.ShortId(r.Id)))})?";
            if (!console.Confirm(question, defaultValue: false, cancellationToken))
            {
                console.Error.WriteLine("Nothing cancelled.");
                return ExitCodes.Cancelled;
            }
        }

        var failures = new List<string>();
        foreach (var target in targets)
        {
            try
            {
                var cancelled = await client.CancelReservationAsync(target.Id, cancellationToken).ConfigureAwait(false);
                Services.SshFiles.Sync(cancelled, console.Error);
                console.Out.WriteLine($"Cancelled reservation {Format.ShortId(cancelled.Id)}");
            }
            catch (CliException ex) when (targets.Count > 1 && ex.ExitCode == ExitCodes.Failure)
            {
                failures.Add($"{Format.ShortId(target.Id)}: {ex.Message}");
            }
        }

        return failures.Count == 0 ? ExitCodes.Success : throw new CliException(ExitCodes.Failure, failures);
    }
}

using System.CommandLine;
using System.Globalization;
using GpuDev.Cli.Client;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev edit [ID] [--enable-jupyter|--disable-jupyter] [--extend [HOURS]] [--add-user GH]...</c>:
/// change an active reservation (PATCH; several changes at once are applied all or nothing).</summary>
internal sealed class EditCommand : CliCommand
{
    public const double DefaultExtendHours = 24;
    public const double MaxExtendHours = 24;

    /// <summary>The server's limit on a reservation's length, extension included (ReservationLimits.MaxTotalHours).</summary>
    public const double MaxTotalHours = 48;

    public const string ActionExtend = "extend the reservation";
    public const string ActionEnableJupyter = "enable Jupyter Lab";
    public const string ActionDisableJupyter = "disable Jupyter Lab";
    public const string ActionAddUser = "add a user (GitHub login)";

    private readonly Argument<string> _id = CommonOptions.ReservationId("Reservation ID or unique prefix; default: your active reservation");
    private readonly Option<bool> _enableJupyter = new("--enable-jupyter") { Description = "Start Jupyter Lab (show prints its URL)" };
    private readonly Option<bool> _disableJupyter = new("--disable-jupyter") { Description = "Stop Jupyter Lab" };
    private readonly Option<string> _extend = new("--extend")
    {
        HelpName = "HOURS",
        Arity = ArgumentArity.ZeroOrOne,
        Description = "Add HOURS to the end time (0 < HOURS <= 24, decimals allowed; default 24). Once per reservation; 48 h in total at most",
    };

    private readonly Option<string[]> _addUser = new("--add-user")
    {
        HelpName = "GITHUB_USER",
        Description = "Let this GitHub user ssh in with their GitHub keys (repeatable); they can show and connect, not edit or cancel",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<bool> _json = CommonOptions.Json();

    public EditCommand(CliServices services)
        : base(services, "edit", "Modify an active reservation: extend it, turn Jupyter Lab on or off, add users.")
    {
        Arguments.Add(_id);
        Options.Add(_enableJupyter);
        Options.Add(_disableJupyter);
        Options.Add(_extend);
        Options.Add(_addUser);
        Options.Add(_json);
        Examples.Add("gpu-dev edit abc12345 --enable-jupyter");
        Examples.Add("gpu-dev edit abc12345 --extend");
        Examples.Add("gpu-dev edit abc12345 --extend 2.5");
        Examples.Add("gpu-dev edit abc12345 --add-user colleague-github-name --add-user another");
        Examples.Add("gpu-dev edit   # interactive: pick the reservation and the change");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var id = parseResult.GetValue(_id);
        var request = BuildRequest(parseResult, ref id);
        var canPrompt = Services.CanPrompt;
        if (request is null && !canPrompt)
        {
            throw CliException.Usage("give an action: --extend, --enable-jupyter, --disable-jupyter or --add-user",
                "e.g. `gpu-dev edit abc12345 --extend 2`");
        }

        var client = Services.CreateClient();
        string target;
        if (request is null)
        {
            // The menu offers only what this reservation allows, so it needs the reservation first.
            var reservation = id is null
                ? await PickActiveAsync(client, canPrompt, cancellationToken).ConfigureAwait(false)
                : await client.GetReservationAsync(id, cancellationToken).ConfigureAwait(false);
            target = id ?? reservation.Id;
            request = PromptRequest(reservation, cancellationToken);
        }
        else
        {
            target = id ?? (await PickActiveAsync(client, canPrompt, cancellationToken).ConfigureAwait(false)).Id;
        }

        var edited = await client.EditReservationAsync(target, request, cancellationToken).ConfigureAwait(false);
        Services.SshFiles.Sync(edited, Services.Console.Error);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, edited);
            return ExitCodes.Success;
        }

        PrintResult(request, edited);
        return ExitCodes.Success;
    }

    /// <summary>The PATCH body from the flags, or null when no action was given. <c>--extend ID</c> (no hours, ID after
    /// the flag) is read as the ID, since an ID is never a number.</summary>
    private EditReservationRequest? BuildRequest(ParseResult parseResult, ref string? id)
    {
        var enable = parseResult.GetValue(_enableJupyter);
        var disable = parseResult.GetValue(_disableJupyter);
        if (enable && disable)
        {
            throw CliException.Usage("give either --enable-jupyter or --disable-jupyter, not both");
        }

        double? extend = null;
        if (parseResult.GetResult(_extend) is not null)
        {
            var value = parseResult.GetValue(_extend)?.Trim();
            if (string.IsNullOrEmpty(value))
            {
                extend = DefaultExtendHours;
            }
            else if (TryParseHours(value, out var hours))
            {
                extend = hours;
            }
            else if (id is null && !CliNumbers.LooksNumeric(value))
            {
                id = value;
                extend = DefaultExtendHours;
            }
            else
            {
                throw CliException.Usage(ExtendRule(value));
            }
        }

        var users = new List<string>();
        foreach (var user in parseResult.GetValue(_addUser) ?? [])
        {
            var login = user.Trim().TrimStart('@');
            if (!IsGitHubLogin(login))
            {
                throw CliException.Usage($"--add-user must be a GitHub login (letters, digits and single hyphens, at most 39 characters); got \"{user}\"");
            }

            if (!users.Contains(login, StringComparer.OrdinalIgnoreCase))
            {
                users.Add(login);
            }
        }

        if (!enable && !disable && extend is null && users.Count == 0)
        {
            return null;
        }

        return new EditReservationRequest
        {
            ExtendHours = extend,
            Jupyter = enable ? true : disable ? false : null,
            AddUsers = users.Count > 0 ? users : null,
        };
    }

    internal static bool TryParseHours(string value, out double hours) =>
        CliNumbers.TryParseDecimal(value, out hours) && hours > 0 && hours <= MaxExtendHours;

    private static string ExtendRule(string got) =>
        $"--extend HOURS must be a number greater than 0 and at most {MaxExtendHours.ToString(CultureInfo.InvariantCulture)}; got \"{got}\"";

    internal static bool IsGitHubLogin(string login) =>
        login.Length is > 0 and <= 39
        && login.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')
        && login[0] != '-' && login[^1] != '-'
        && !login.Contains("--", StringComparison.Ordinal);

    /// <summary>Your one active reservation that you may edit; on a terminal you pick when there are several.</summary>
    private async Task<ReservationDto> PickActiveAsync(GpuDevClient client, bool canPrompt, CancellationToken ct)
    {
        var mine = await client.ListReservationsAsync(null, null, false, ct).ConfigureAwait(false);
        var active = mine.Where(r => r.Status == "active" && r.CanEdit).ToList();
        if (active.Count == 0)
        {
            var waiting = mine.FirstOrDefault(r => r.CanEdit);
            throw waiting is null
                ? new CliException(ExitCodes.Failure, "you have no active reservation to edit", "make one with `gpu-dev reserve`")
                : new CliException(ExitCodes.Failure, $"you have no active reservation to edit; {Format.ShortId(waiting.Id)} is {waiting.Status}",
                    $"check it with `gpu-dev show {Format.ShortId(waiting.Id)}`");
        }

        if (active.Count == 1)
        {
            return active[0];
        }

        if (!canPrompt)
        {
            throw CliException.Usage($"you have {active.Count} active reservations; name one: {string.Join(", ", active.Select(r => Format.ShortId(r.Id)))}",
                $"e.g. `gpu-dev edit {Format.ShortId(active[0].Id)} --extend`");
        }

        var now = Services.Time.GetUtcNow();
        var labels = active.Select(r => $"{Format.ShortId(r.Id)}  {r.Name ?? "-"}  {Format.Gpus(r)}  {Format.When(r, now)}").ToList();
        return active[Services.Console.Select("Edit which reservation?", labels, ct)];
    }

    /// <summary>The changes the server would accept for <paramref name="r"/>, in menu order: extend (once, and while
    /// the total stays within <see cref="MaxTotalHours"/>), enable or disable Jupyter (whichever it is not), add a user.</summary>
    internal static List<string> Actions(ReservationDto r)
    {
        var actions = new List<string>();
        if (ExtendRoom(r) > 0)
        {
            actions.Add(ActionExtend);
        }

        actions.Add(r.Jupyter ? ActionDisableJupyter : ActionEnableJupyter);
        actions.Add(ActionAddUser);
        return actions;
    }

    /// <summary>How many hours an extension may add: 0 once extended, else up to 24 within 48 h in all (rounded down
    /// to 0.01 h, so that the number shown is one the server takes).</summary>
    internal static double ExtendRoom(ReservationDto r) =>
        r.ExtendedHours > 0 ? 0 : Math.Floor(Math.Max(0, Math.Min(MaxExtendHours, MaxTotalHours - r.Hours)) * 100) / 100;

    private EditReservationRequest PromptRequest(ReservationDto reservation, CancellationToken ct)
    {
        var console = Services.Console;
        var id8 = Format.ShortId(reservation.Id);
        if (reservation.Status != "active")
        {
            throw new CliException(ExitCodes.Failure, $"reservation {id8} is {reservation.Status}; only active reservations can be edited",
                $"check it with `gpu-dev show {id8}`");
        }

        if (!reservation.CanEdit)
        {
            throw new CliException(ExitCodes.Failure, $"you were added to reservation {id8}; only its owner ({reservation.User}) or an admin can edit it");
        }

        if (reservation.ExtendedHours > 0)
        {
            console.Error.WriteLine($"Reservation {id8} was already extended (by {reservation.ExtendedHours.ToString("0.##", CultureInfo.InvariantCulture)}h); a reservation can be extended once.");
        }
        else if (ExtendRoom(reservation) <= 0)
        {
            console.Error.WriteLine($"Reservation {id8} lasts {reservation.Hours.ToString("0.##", CultureInfo.InvariantCulture)}h, the most allowed ({MaxTotalHours.ToString(CultureInfo.InvariantCulture)}h in all); it cannot be extended.");
        }

        var actions = Actions(reservation);
        switch (actions[console.Select("What do you want to change?", actions, ct)])
        {
            case ActionExtend:
                var room = ExtendRoom(reservation);
                var most = room.ToString("0.##", CultureInfo.InvariantCulture);
                while (true)
                {
                    var answer = console.Ask($"Add how many hours (up to {most}, decimals allowed)?",
                        Math.Min(DefaultExtendHours, room).ToString("0.##", CultureInfo.InvariantCulture), ct);
                    if (TryParseHours(answer, out var hours))
                    {
                        if (hours <= room)
                        {
                            return new EditReservationRequest { ExtendHours = hours };
                        }

                        console.Error.WriteLine($"a reservation lasts at most {MaxTotalHours.ToString(CultureInfo.InvariantCulture)}h in all; add at most {most}h");
                        continue;
                    }

                    console.Error.WriteLine(ExtendRule(answer).Replace("--extend HOURS", "hours", StringComparison.Ordinal));
                }

            case ActionEnableJupyter:
                return new EditReservationRequest { Jupyter = true };
            case ActionDisableJupyter:
                return new EditReservationRequest { Jupyter = false };
            default:
                while (true)
                {
                    var login = console.Ask("GitHub login of the user to add?", null, ct).Trim().TrimStart('@');
                    if (IsGitHubLogin(login))
                    {
                        return new EditReservationRequest { AddUsers = [login] };
                    }

                    console.Error.WriteLine($"\"{login}\" is not a GitHub login (letters, digits and single hyphens, at most 39 characters)");
                }
        }
    }

    private void PrintResult(EditReservationRequest request, ReservationDto r)
    {
        var w = Services.Console.Out;
        var id8 = Format.ShortId(r.Id);
        var now = Services.Time.GetUtcNow();
        var tty = Services.Console.IsOutputTty;
        if (request.ExtendHours is { } hours)
        {
            var until = r.ExpiresAt is { } e
                ? $"; it now expires {(tty ? Format.LocalTime(e, now) : Format.Rfc3339(e))} ({Format.Relative(e, now)})"
                : string.Empty;
            w.WriteLine($"Extended reservation {id8} by {hours.ToString("0.####", CultureInfo.InvariantCulture)}h{until}.");
        }

        if (request.Jupyter == true)
        {
            w.WriteLine(r.JupyterUrl is { Length: > 0 } url
                ? $"Jupyter is enabled on {id8}: {url}"
                : $"Jupyter is enabled on {id8}; its URL appears in `gpu-dev show {id8}` once it is up.");
        }
        else if (request.Jupyter == false)
        {
            w.WriteLine($"Jupyter Lab is disabled on {id8}.");
        }

        if (request.AddUsers is { Count: > 0 } added)
        {
            w.WriteLine($"Added {string.Join(", ", added)} to {id8}; they can `gpu-dev connect {id8}` (or ssh) with their GitHub keys. "
                + $"Added users now: {string.Join(", ", r.AddedUsers.Count > 0 ? r.AddedUsers : added)}.");
        }
    }
}

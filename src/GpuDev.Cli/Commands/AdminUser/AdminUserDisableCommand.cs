using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands.AdminUser;

/// <summary><c>gpu-dev admin user disable NAME [--json]</c>: the user's tokens stop working; their live reservations keep running.</summary>
internal sealed class AdminUserDisableCommand : CliCommand
{
    private readonly Argument<string> _name = AdminUserCommands.NameArgument();
    private readonly Option<bool> _json = CommonOptions.Json();

    public AdminUserDisableCommand(CliServices services)
        : base(services, "disable", "Disable a user: their tokens stop working at once; their reservations keep running (listed, to cancel if you decide to).")
    {
        Arguments.Add(_name);
        Options.Add(_json);
        Examples.Add("gpu-dev admin user disable mallory");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var name = AdminUserCommands.ValidName(parseResult.GetRequiredValue(_name));
        var change = await Services.CreateClient().SetUserDisabledAsync(name, disable: true, cancellationToken).ConfigureAwait(false);
        var console = Services.Console;
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(console.Out, change);
            return ExitCodes.Success;
        }

        console.Out.WriteLine($"Disabled user {change.User.Name}: their tokens no longer work.");
        var live = change.LiveReservations;
        if (live.Count == 0)
        {
            console.Error.WriteLine("They have no live reservations.");
            return ExitCodes.Success;
        }

        console.Error.WriteLine(live.Count == 1
            ? "Their live reservation keeps running:"
            : $"Their {live.Count} live reservations keep running:");
        ReservationTable.Write(console, live, Services.Time.GetUtcNow());
        console.Error.WriteLine($"Cancel one with `gpu-dev cancel ID` (e.g. `gpu-dev cancel {Format.ShortId(live[0].Id)}`).");
        return ExitCodes.Success;
    }
}

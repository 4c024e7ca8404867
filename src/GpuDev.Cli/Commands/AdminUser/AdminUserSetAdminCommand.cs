using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands.AdminUser;

/// <summary><c>gpu-dev admin user set-admin NAME true|false [--json]</c>. One form only, a positional true/false: it reads
/// the same whichever way it goes, and a missing value is an error rather than a silent default.</summary>
internal sealed class AdminUserSetAdminCommand : CliCommand
{
    private readonly Argument<string> _name = AdminUserCommands.NameArgument();
    private readonly Argument<string> _value = new("ADMIN") { HelpName = "true|false", Description = "true to make the user an admin, false to take it away" };
    private readonly Option<bool> _json = CommonOptions.Json();

    public AdminUserSetAdminCommand(CliServices services)
        : base(services, "set-admin", "Make a user an admin (true) or take it away (false).")
    {
        Arguments.Add(_name);
        Arguments.Add(_value);
        Options.Add(_json);
        Examples.Add("gpu-dev admin user set-admin bob true");
        Examples.Add("gpu-dev admin user set-admin bob false");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var name = AdminUserCommands.ValidName(parseResult.GetRequiredValue(_name));
        var text = parseResult.GetRequiredValue(_value).Trim();
        var admin = text.ToLowerInvariant() switch
        {
            "true" => true,
            "false" => false,
            _ => throw CliException.Usage($"ADMIN must be true or false; got \"{text}\""),
        };
        var user = await Services.CreateClient().SetUserAdminAsync(name, admin, cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, user);
            return ExitCodes.Success;
        }

        Services.Console.Out.WriteLine(user.Admin ? $"{user.Name} is now an admin." : $"{user.Name} is no longer an admin.");
        return ExitCodes.Success;
    }
}

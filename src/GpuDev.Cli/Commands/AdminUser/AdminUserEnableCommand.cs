using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands.AdminUser;

/// <summary><c>gpu-dev admin user enable NAME [--json]</c>: the user's unexpired, unrevoked tokens work again.</summary>
internal sealed class AdminUserEnableCommand : CliCommand
{
    private readonly Argument<string> _name = AdminUserCommands.NameArgument();
    private readonly Option<bool> _json = CommonOptions.Json();

    public AdminUserEnableCommand(CliServices services)
        : base(services, "enable", "Enable a disabled user: their tokens that have not expired or been revoked work again.")
    {
        Arguments.Add(_name);
        Options.Add(_json);
        Examples.Add("gpu-dev admin user enable mallory");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var name = AdminUserCommands.ValidName(parseResult.GetRequiredValue(_name));
        var change = await Services.CreateClient().SetUserDisabledAsync(name, disable: false, cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, change);
            return ExitCodes.Success;
        }

        Services.Console.Out.WriteLine($"Enabled user {change.User.Name}.");
        return ExitCodes.Success;
    }
}

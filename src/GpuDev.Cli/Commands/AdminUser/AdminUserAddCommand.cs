using System.CommandLine;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands.AdminUser;

/// <summary><c>gpu-dev admin user add NAME [--admin] [--github GH] [--json]</c>: a new user and their first token, shown once.</summary>
internal sealed class AdminUserAddCommand : CliCommand
{
    private readonly Argument<string> _name = new("NAME") { Description = $"The new user's name ({AdminUserCommands.NameRule})" };
    private readonly Option<bool> _admin = new("--admin") { Description = "Make the user an admin" };
    private readonly Option<string> _github = new("--github") { HelpName = "GH", Description = "Their GitHub login: the keys at github.com/GH.keys get into their reservations" };
    private readonly Option<bool> _json = CommonOptions.Json();

    public AdminUserAddCommand(CliServices services)
        : base(services, "add", "Add a user; prints their first token (valid a year), shown only this once.")
    {
        Arguments.Add(_name);
        Options.Add(_admin);
        Options.Add(_github);
        Options.Add(_json);
        Examples.Add("gpu-dev admin user add alice --github alice-gh");
        Examples.Add("gpu-dev admin user add bob --admin");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var name = AdminUserCommands.ValidName(parseResult.GetRequiredValue(_name));
        var github = parseResult.GetValue(_github)?.Trim().TrimStart('@');
        if (github is not null && !EditCommand.IsGitHubLogin(github))
        {
            throw CliException.Usage($"--github must be a GitHub login (letters, digits and single hyphens, at most 39 characters); got \"{parseResult.GetValue(_github)}\"");
        }

        var created = await Services.CreateClient().CreateUserAsync(new CreateUserRequest(name, parseResult.GetValue(_admin), github), cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, created);
            return ExitCodes.Success;
        }

        // The secret alone on stdout, as `gpu-dev-server user add` prints it; the rest on stderr.
        var now = Services.Time.GetUtcNow();
        Services.Console.Out.WriteLine(created.Token);
        var err = Services.Console.Error;
        err.WriteLine($"Added user {created.User.Name}{(created.User.Admin ? " (admin)" : string.Empty)}. Their token above expires {Format.HumanTime(created.ExpiresAt, now)}.");
        err.WriteLine("It is shown only this once: hand it to them; they run `gpu-dev config set token TOKEN`.");
        return ExitCodes.Success;
    }
}

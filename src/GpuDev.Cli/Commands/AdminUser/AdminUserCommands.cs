using System.CommandLine;
using System.Text.RegularExpressions;

namespace GpuDev.Cli.Commands.AdminUser;

/// <summary>Builds <c>gpu-dev admin user</c> and its subcommands (admins only; the server refuses others with 403).</summary>
internal static partial class AdminUserCommands
{
    /// <summary>The server's user name rule (GpuDev.Core's UserNames), checked here so a bad name is refused before any request.</summary>
    public const string NameRule = "1-32 lowercase letters, digits, '-' and '_', starting with a letter or digit";

    public static Command Build(CliServices services)
    {
        var user = new Command("user", "Manage users: list, add, disable, enable, make or unmake admin.");
        user.Subcommands.Add(new AdminUserListCommand(services));
        user.Subcommands.Add(new AdminUserAddCommand(services));
        user.Subcommands.Add(new AdminUserDisableCommand(services));
        user.Subcommands.Add(new AdminUserEnableCommand(services));
        user.Subcommands.Add(new AdminUserSetAdminCommand(services));
        return user;
    }

    public static Argument<string> NameArgument() => new("NAME") { Description = "The user's name (as `gpu-dev admin user list` shows it)" };

    /// <summary>Refuses a name that cannot be a user's, with the rule.</summary>
    public static string ValidName(string? name)
    {
        var trimmed = name?.Trim() ?? string.Empty;
        return trimmed.Length is > 0 and <= 32 && NamePattern().IsMatch(trimmed)
            ? trimmed
            : throw CliException.Usage($"a user name is {NameRule}; got \"{name}\"");
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]*\\z")]
    private static partial Regex NamePattern();
}

using System.CommandLine;

namespace GpuDev.Cli.Commands;

/// <summary>Builds <c>gpu-dev admin</c> and its subcommands (admins only; the server refuses others with 403).</summary>
internal static class AdminCommands
{
    public static Command Build(CliServices services)
    {
        var admin = new Command("admin", "Administration (needs an admin token).");
        admin.Subcommands.Add(new AdminAuditCommand(services));
        admin.Subcommands.Add(AdminUser.AdminUserCommands.Build(services));
        return admin;
    }
}

using System.CommandLine;
using GpuDev.Cli.Output;
using Spectre.Console;

namespace GpuDev.Cli.Commands.AdminUser;

/// <summary><c>gpu-dev admin user list [--json]</c>.</summary>
internal sealed class AdminUserListCommand : CliCommand
{
    private readonly Option<bool> _json = CommonOptions.Json();

    public AdminUserListCommand(CliServices services)
        : base(services, "list", "List every user: name, admin, GitHub login, created and status (active or disabled).")
    {
        Aliases.Add("ls");
        Options.Add(_json);
        Examples.Add("gpu-dev admin user list");
        Examples.Add("gpu-dev admin user list --json");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var users = await Services.CreateClient().ListUsersAsync(cancellationToken).ConfigureAwait(false);
        var console = Services.Console;
        var now = Services.Time.GetUtcNow();
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(console.Out, users);
            return ExitCodes.Success;
        }

        if (!console.IsOutputTty)
        {
            foreach (var u in users)
            {
                console.Out.WriteLine(string.Join('\t', u.Name, u.Admin ? "admin" : string.Empty, u.GithubUser ?? string.Empty,
                    Format.Rfc3339(u.CreatedAt), u.DisabledAt is null ? "active" : "disabled", Format.Rfc3339(u.DisabledAt)));
            }

            return ExitCodes.Success;
        }

        var table = new Table().NoBorder().HideRowSeparators();
        table.AddColumns("NAME", "ADMIN", "GITHUB", "CREATED", "STATUS");
        foreach (var column in table.Columns)
        {
            column.PadLeft(0).PadRight(2);
        }

        foreach (var u in users)
        {
            table.AddRow(
                Markup.Escape(u.Name),
                u.Admin ? "[yellow]admin[/]" : "[grey]-[/]",
                u.GithubUser is { Length: > 0 } gh ? Markup.Escape(gh) : "[grey]-[/]",
                Markup.Escape(Format.HumanTime(u.CreatedAt, now)),
                u.DisabledAt is { } at ? $"[red]disabled {Markup.Escape(Format.Relative(at, now))}[/]" : "[green]active[/]");
        }

        console.OutConsole.Write(table);
        return ExitCodes.Success;
    }
}

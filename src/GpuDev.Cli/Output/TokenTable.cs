using GpuDev.Contracts;
using Spectre.Console;

namespace GpuDev.Cli.Output;

/// <summary>The token list: a table on a TTY (* on the token this CLI uses), tab-separated raw values when piped.</summary>
internal static class TokenTable
{
    /// <summary>active, expired or revoked (revoked wins: it was a decision).</summary>
    public static string Status(TokenDto t, DateTimeOffset now) =>
        t.RevokedAt is not null ? "revoked" : t.ExpiresAt <= now ? "expired" : "active";

    public static void Write(IConsoleOutput console, IReadOnlyList<TokenDto> tokens, DateTimeOffset now)
    {
        if (!console.IsOutputTty)
        {
            foreach (var t in tokens)
            {
                console.Out.WriteLine(string.Join('\t', t.Id, Clean(t.Name), t.Kind, Format.Rfc3339(t.CreatedAt), Format.Rfc3339(t.ExpiresAt),
                    Format.Rfc3339(t.RevokedAt), Status(t, now), t.Current ? "current" : string.Empty));
            }

            return;
        }

        if (tokens.Count == 0)
        {
            console.Error.WriteLine("No tokens; create one with `gpu-dev token create`");
            return;
        }

        var table = new Table().NoBorder().HideRowSeparators();
        table.AddColumns(" ", "ID", "NAME", "KIND", "CREATED", "EXPIRES", "STATUS");
        foreach (var column in table.Columns)
        {
            column.PadLeft(0).PadRight(2);
        }

        table.Columns[0].PadRight(1);
        foreach (var t in tokens)
        {
            var status = Status(t, now);
            table.AddRow(
                t.Current ? "*" : " ",
                Markup.Escape(Format.ShortId(t.Id)),
                Markup.Escape(t.Name),
                Markup.Escape(t.Kind),
                Markup.Escape(Format.HumanTime(t.CreatedAt, now)),
                Markup.Escape(Format.HumanTime(t.ExpiresAt, now)),
                status switch
                {
                    "active" => "[green]active[/]",
                    "revoked" => $"[grey]revoked {Markup.Escape(Format.Relative(t.RevokedAt!.Value, now))}[/]",
                    _ => "[grey]expired[/]",
                });
        }

        console.OutConsole.Write(table);
        if (tokens.Any(t => t.Current))
        {
            console.Error.WriteLine("* the token this CLI uses");
        }
    }

    private static string Clean(string s) => s.Replace('\t', ' ').Replace('\n', ' ');
}

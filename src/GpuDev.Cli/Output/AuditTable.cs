using System.Globalization;
using GpuDev.Contracts;
using Spectre.Console;

namespace GpuDev.Cli.Output;

/// <summary>The audit log: a table on a TTY (TIME, ACTOR, ACTION, TARGET, OUTCOME, FROM), tab-separated raw values when piped.</summary>
internal static class AuditTable
{
    public static void Write(IConsoleOutput console, IReadOnlyList<AuditEntryDto> entries)
    {
        if (!console.IsOutputTty)
        {
            foreach (var e in entries)
            {
                console.Out.WriteLine(string.Join('\t',
                    Format.Rfc3339(e.At), e.Actor, e.Action, e.Target ?? string.Empty, e.Outcome.ToString(CultureInfo.InvariantCulture),
                    e.RemoteAddress ?? string.Empty, Clean(e.Detail)));
            }

            return;
        }

        var table = new Table().NoBorder().HideRowSeparators();
        table.AddColumns("TIME (UTC)", "ACTOR", "ACTION", "TARGET", "OUTCOME", "FROM", "DETAIL");
        foreach (var column in table.Columns)
        {
            column.PadLeft(0).PadRight(2);
        }

        foreach (var e in entries)
        {
            table.AddRow(
                Markup.Escape(e.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)),
                Markup.Escape(e.Actor),
                Markup.Escape(e.Action),
                Markup.Escape(e.Target is { Length: 32 } id && id.All(char.IsAsciiHexDigit) ? Format.ShortId(id) : e.Target ?? "-"),
                e.Outcome >= 400 ? $"[red]{e.Outcome}[/]" : e.Outcome.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(e.RemoteAddress ?? "-"),
                Markup.Escape(Clean(e.Detail) is { Length: > 0 } d ? (d.Length > 60 ? d[..57] + "..." : d) : "-"));
        }

        console.OutConsole.Write(table);
    }

    private static string Clean(string? s) => s is null ? string.Empty : s.Replace('\t', ' ').Replace('\n', ' ');
}

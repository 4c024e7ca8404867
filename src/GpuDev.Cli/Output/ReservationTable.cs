using GpuDev.Contracts;
using Spectre.Console;

namespace GpuDev.Cli.Output;

/// <summary>The reservation list: a table on a TTY, tab-separated raw values when piped.</summary>
internal static class ReservationTable
{
    public static void Write(IConsoleOutput console, IReadOnlyList<ReservationDto> reservations, DateTimeOffset now)
    {
        if (!console.IsOutputTty)
        {
            foreach (var r in reservations)
            {
                console.Out.WriteLine(string.Join('\t',
                    r.Id, Clean(r.Name), r.User, r.Status, r.GpuType, r.GpuCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Format.Rfc3339(r.CreatedAt), Format.Rfc3339(r.ExpiresAt)));
            }

            return;
        }

        var table = new Table().NoBorder().HideRowSeparators();
        table.AddColumns("ID", "NAME", "USER", "STATUS", "GPUS", "CREATED", "EXPIRES");
        foreach (var column in table.Columns)
        {
            column.PadLeft(0).PadRight(2);
        }

        foreach (var r in reservations)
        {
            table.AddRow(
                Markup.Escape(Format.ShortId(r.Id)),
                Markup.Escape(r.Name ?? "-"),
                Markup.Escape(r.User),
                Format.StatusMarkup(r.Status) + (HasWarning(r) ? " [yellow]⚠[/]" : string.Empty),
                Markup.Escape(Format.Gpus(r)),
                Markup.Escape(Format.Relative(r.CreatedAt, now)),
                Markup.Escape(Format.When(r, now)));
        }

        console.OutConsole.Write(table);
    }

    /// <summary>An expiry warning was delivered and the reservation is still running.</summary>
    public static bool HasWarning(ReservationDto r) => r.Warnings.Count > 0 && !Format.IsTerminal(r.Status);

    private static string Clean(string? s) => s is null ? string.Empty : s.Replace('\t', ' ').Replace('\n', ' ');
}

using System.Globalization;
using GpuDev.Contracts;
using Spectre.Console;

namespace GpuDev.Cli.Output;

/// <summary>Disk list and disk content: tables on a TTY, tab-separated raw values (bytes, RFC 3339) when piped.</summary>
internal static class DiskTable
{
    public static void Write(IConsoleOutput console, IReadOnlyList<DiskDto> disks, DateTimeOffset now, bool showUser)
    {
        if (!console.IsOutputTty)
        {
            foreach (var d in disks)
            {
                var fields = new List<string>
                {
                    d.Name, I(d.SizeBytes), I(d.QuotaBytes), Format.Rfc3339(d.CreatedAt), Format.Rfc3339(d.LastUsedAt),
                    I(d.SnapshotCount), d.Status, d.AttachedTo ?? string.Empty, Format.Rfc3339(d.PurgeAt),
                };
                if (showUser)
                {
                    fields.Insert(1, d.User);
                }

                console.Out.WriteLine(string.Join('\t', fields));
            }

            return;
        }

        var table = new Table().NoBorder().HideRowSeparators();
        table.AddColumn("NAME");
        if (showUser)
        {
            table.AddColumn("USER");
        }

        table.AddColumns("SIZE", "CREATED", "LAST USED", "SNAPSHOTS", "STATUS");
        foreach (var column in table.Columns)
        {
            column.PadLeft(0).PadRight(2);
        }

        foreach (var d in disks)
        {
            var cells = new List<string>
            {
                Markup.Escape(d.Name),
                Markup.Escape($"{Bytes(d.SizeBytes)} / {Bytes(d.QuotaBytes)}"),
                Markup.Escape(Format.Relative(d.CreatedAt, now)),
                Markup.Escape(d.LastUsedAt is { } used ? Format.Relative(used, now) : "never"),
                Markup.Escape(I(d.SnapshotCount)),
                StatusMarkup(d, now),
            };
            if (showUser)
            {
                cells.Insert(1, Markup.Escape(d.User));
            }

            table.AddRow(cells.ToArray());
        }

        console.OutConsole.Write(table);
    }

    /// <summary>available (green), in-use (yellow, with the reservation), backing-up (blue), deleted (grey, with the purge delay).</summary>
    public static string StatusMarkup(DiskDto d, DateTimeOffset now) => d.Status switch
    {
        "available" => "[green]available[/]",
        "in-use" => d.AttachedTo is { Length: > 0 } r ? $"[yellow]in-use ({Markup.Escape(Format.ShortId(r))})[/]" : "[yellow]in-use[/]",
        "backing-up" => "[blue]backing-up[/]",
        "deleted" => $"[grey]deleted{Markup.Escape(PurgeNote(d, now) is { } note ? $", {note}" : string.Empty)}[/]",
        _ => Markup.Escape(d.Status),
    };

    /// <summary>"purge in 29d", "purge pending" once the date has passed; null without a date.</summary>
    public static string? PurgeNote(DiskDto d, DateTimeOffset now) =>
        d.PurgeAt is not { } purge ? null : purge > now ? $"purge in {Format.Duration(purge - now)}" : "purge pending";

    public static void WriteContent(IConsoleOutput console, DiskContentDto content, DateTimeOffset now)
    {
        if (!console.IsOutputTty)
        {
            foreach (var f in content.Files)
            {
                console.Out.WriteLine($"{I(f.Size)}\t{f.Path.Replace('\t', ' ').Replace('\n', ' ')}");
            }

            return;
        }

        if (content.Files.Count > 0)
        {
            var table = new Table().NoBorder().HideRowSeparators();
            table.AddColumn(new TableColumn("SIZE").RightAligned());
            table.AddColumn("PATH");
            foreach (var column in table.Columns)
            {
                column.PadLeft(0).PadRight(2);
            }

            foreach (var f in content.Files)
            {
                table.AddRow(Markup.Escape(Bytes(f.Size)), Markup.Escape(f.Path));
            }

            console.OutConsole.Write(table);
        }

        var when = content.SnapshotAt is { } at ? $"{Format.LocalTime(at, now)} ({Format.Relative(at, now)})" : "unknown time";
        var count = content.Files.Count;
        console.Out.WriteLine($"snapshot of {when}, {I(count)} file{(count == 1 ? string.Empty : "s")}, {Bytes(content.Files.Sum(f => f.Size))} total");
    }

    /// <summary>Snapshots, newest first: ID (8), CREATED, SIZE, FILES, RESERVATION; piped: full ID, RFC 3339, bytes, count, full reservation ID.</summary>
    public static void WriteSnapshots(IConsoleOutput console, IReadOnlyList<DiskSnapshotDto> snapshots, DateTimeOffset now)
    {
        if (!console.IsOutputTty)
        {
            foreach (var s in snapshots)
            {
                console.Out.WriteLine(string.Join('\t', s.Id, Format.Rfc3339(s.CreatedAt), I(s.SizeBytes), I(s.FileCount), s.Reservation ?? string.Empty));
            }

            return;
        }

        var table = new Table().NoBorder().HideRowSeparators();
        table.AddColumn("ID");
        table.AddColumn("CREATED");
        table.AddColumn(new TableColumn("SIZE").RightAligned());
        table.AddColumn(new TableColumn("FILES").RightAligned());
        table.AddColumn("RESERVATION");
        foreach (var column in table.Columns)
        {
            column.PadLeft(0).PadRight(2);
        }

        foreach (var s in snapshots)
        {
            table.AddRow(
                Markup.Escape(Format.ShortId(s.Id)),
                Markup.Escape($"{Format.LocalTime(s.CreatedAt, now)} ({Format.Relative(s.CreatedAt, now)})"),
                Markup.Escape(Bytes(s.SizeBytes)),
                Markup.Escape(I(s.FileCount)),
                s.Reservation is { Length: > 0 } r ? Markup.Escape(Format.ShortId(r)) : "[grey]-[/]");
        }

        console.OutConsole.Write(table);
    }

    /// <summary>Human size in binary units labelled like the seed ("1.2 GB", "100 GB", "512 B").</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KB", "MB", "GB", "TB", "PB"];
        double value = Math.Max(bytes, 0);
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        var text = unit == 0 || value >= 100 ? Math.Round(value).ToString("0", CultureInfo.InvariantCulture) : value.ToString("0.#", CultureInfo.InvariantCulture);
        return $"{text} {units[unit]}";
    }

    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);
}

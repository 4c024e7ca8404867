using System.Globalization;
using GpuDev.Contracts;
using Spectre.Console;

namespace GpuDev.Cli.Output;

/// <summary><c>gpu-dev usage</c>: on a TTY a line naming whose usage and the window, then a table per user and GPU type
/// with a total line; when piped, one tab-separated line per row with user, GPU type, reservations, booked GPU-hours,
/// used GPU-hours and used % (empty when nothing was booked), with no header, window or total (<c>--json</c> has them).</summary>
internal static class UsageTable
{
    public static void Write(IConsoleOutput console, UsageReportDto report)
    {
        if (!console.IsOutputTty)
        {
            foreach (var row in report.Rows)
            {
                console.Out.WriteLine(string.Join('\t', row.User, row.GpuType, Int(row.Reservations),
                    Raw(row.BookedGpuHours), Raw(row.UsedGpuHours), Percent(row.BookedGpuHours, row.UsedGpuHours) is { } p ? Raw(p) : string.Empty));
            }

            return;
        }

        console.Out.WriteLine($"GPU usage of {(report.User is { } user ? user : "all users")} {Window(report)}");
        var table = new Table().NoBorder().HideRowSeparators();
        table.AddColumns("USER", "GPU TYPE", "RESERVATIONS", "BOOKED GPU-H", "USED GPU-H", "USED %");
        foreach (var column in table.Columns)
        {
            column.PadLeft(0).PadRight(2);
        }

        foreach (var column in table.Columns.Skip(2))
        {
            column.RightAligned();
        }

        foreach (var row in report.Rows)
        {
            table.AddRow(Markup.Escape(row.User), Markup.Escape(row.GpuType), Int(row.Reservations),
                Hours(row.BookedGpuHours), Hours(row.UsedGpuHours), Shown(row.BookedGpuHours, row.UsedGpuHours));
        }

        var total = report.Total;
        table.AddRow("[bold]TOTAL[/]", string.Empty, $"[bold]{Int(total.Reservations)}[/]",
            $"[bold]{Hours(total.BookedGpuHours)}[/]", $"[bold]{Hours(total.UsedGpuHours)}[/]", $"[bold]{Shown(total.BookedGpuHours, total.UsedGpuHours)}[/]");
        console.OutConsole.Write(table);
    }

    /// <summary>"since 2026-11-30 09:00 UTC (7 days)", the start in the zone times are shown in.</summary>
    public static string Window(UsageReportDto report)
    {
        var local = TimeZoneInfo.ConvertTime(report.Since, Format.Zone);
        return $"since {local.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} {Format.ZoneName(Format.Zone, local)} ({Span(report.At - report.Since)})";
    }

    /// <summary>"7 days", "24 hours" (not "1 day"), "36 hours", "90 minutes"; else "6d 3h".</summary>
    public static string Span(TimeSpan span) => span switch
    {
        { Ticks: > 0 } when span.Ticks % TimeSpan.TicksPerDay == 0 && span.TotalDays >= 2 => Plural((long)span.TotalDays, "day"),
        { Ticks: > 0 } when span.Ticks % TimeSpan.TicksPerHour == 0 && span.TotalHours <= 48 => Plural((long)span.TotalHours, "hour"),
        { Ticks: > 0 } when span.Ticks % TimeSpan.TicksPerMinute == 0 && span < TimeSpan.FromHours(1) => Plural((long)span.TotalMinutes, "minute"),
        _ => Format.Duration(span),
    };

    /// <summary>Used as a share of booked, or null when nothing was booked.</summary>
    private static double? Percent(double booked, double used) => booked > 0 ? Math.Round(used / booked * 100, 1, MidpointRounding.AwayFromZero) : null;

    private static string Shown(double booked, double used) => Percent(booked, used) is { } p ? p.ToString("0.0", CultureInfo.InvariantCulture) + " %" : "-";

    private static string Hours(double gpuHours) => gpuHours.ToString("0.0#", CultureInfo.InvariantCulture);

    private static string Raw(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);

    private static string Plural(long n, string unit) => $"{n.ToString(CultureInfo.InvariantCulture)} {unit}{(n == 1 ? string.Empty : "s")}";

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}

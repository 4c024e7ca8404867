using System.Globalization;
using System.Text.RegularExpressions;
using GpuDev.Contracts;

namespace GpuDev.Cli.Output;

/// <summary>Small formatting helpers shared by renderers.</summary>
internal static partial class Format
{
    private static readonly AsyncLocal<TimeZoneInfo?> s_zone = new();

    /// <summary>The zone human-readable times are shown in for this command: the user's local zone (the injected
    /// <see cref="TimeProvider.LocalTimeZone"/>), or UTC with <c>--utc</c>. Set once per command line by <see cref="CliApp"/>.</summary>
    public static TimeZoneInfo Zone
    {
        get => s_zone.Value ?? TimeZoneInfo.Local;
        set => s_zone.Value = value;
    }

    public static readonly IReadOnlyList<string> Statuses = ["pending", "queued", "preparing", "active", "expired", "cancelled", "failed"];

    public static bool IsTerminal(string status) => status is "expired" or "cancelled" or "failed";

    public static string ShortId(string id) => id.Length > 8 ? id[..8] : id;

    public static string Gpus(ReservationDto r) => r.GpuCount <= 0 ? r.GpuType : $"{r.GpuCount}×{r.GpuType}";

    public static string Rfc3339(DateTimeOffset? t) =>
        t is null ? string.Empty : t.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>An absolute time as a person reads it, in <see cref="Zone"/> with the zone's name, with the day unless it
    /// is today: "14:20 CET", "tomorrow 09:00 CET", "yesterday 23:10 CET", "Tue 15 Dec 09:00 CET", "Fri 1 Jan 2027 09:00 UTC".</summary>
    public static string LocalTime(DateTimeOffset t, DateTimeOffset now)
    {
        var zone = Zone;
        var local = TimeZoneInfo.ConvertTime(t, zone);
        var today = TimeZoneInfo.ConvertTime(now, zone).Date;
        var clock = local.ToString("HH:mm", CultureInfo.InvariantCulture) + " " + ZoneName(zone, local);
        var days = (local.Date - today).Days;
        return days switch
        {
            0 => clock,
            1 => "tomorrow " + clock,
            -1 => "yesterday " + clock,
            _ when local.Year == today.Year => local.ToString("ddd d MMM ", CultureInfo.InvariantCulture) + clock,
            _ => local.ToString("ddd d MMM yyyy ", CultureInfo.InvariantCulture) + clock,
        };
    }

    /// <summary>The zone's abbreviation at that time (CET/CEST, EST/EDT) where the time zone database has one, "UTC" for
    /// UTC, else the offset ("UTC+05:30").</summary>
    public static string ZoneName(TimeZoneInfo zone, DateTimeOffset local)
    {
        if (zone.BaseUtcOffset == TimeSpan.Zero && !zone.SupportsDaylightSavingTime)
        {
            return "UTC";
        }

        var name = zone.IsDaylightSavingTime(local) ? zone.DaylightName : zone.StandardName;
        if (name is { Length: >= 2 and <= 6 } && !name.Contains(' ', StringComparison.Ordinal))
        {
            return name;
        }

        var offset = local.Offset;
        return "UTC" + (offset < TimeSpan.Zero ? "-" : "+") + offset.Duration().ToString(@"hh\:mm", CultureInfo.InvariantCulture);
    }

    /// <summary>"tomorrow 09:00 CET (in 18h 40m)": <see cref="LocalTime"/> plus the relative form.</summary>
    public static string HumanTime(DateTimeOffset t, DateTimeOffset now) => $"{LocalTime(t, now)} ({Relative(t, now)})";

    /// <summary>Server text (wait reasons, history) with every RFC 3339 UTC time in it (<c>2026-12-08T22:42:00Z</c>) shown as
    /// <see cref="HumanTime"/>, so "8 free at 2026-12-08T22:42:00Z" reads "8 free at tomorrow 23:42 CET (in 25h 3m)".</summary>
    public static string Humanize(string? text, DateTimeOffset now) =>
        string.IsNullOrEmpty(text) ? text ?? string.Empty : Rfc3339Pattern().Replace(text, m =>
            DateTimeOffset.TryParse(m.Value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? HumanTime(t, now) : m.Value);

    [GeneratedRegex(@"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z\b")]
    private static partial Regex Rfc3339Pattern();

    /// <summary>"3h 12m", "2d 4h", "45s".</summary>
    public static string Duration(TimeSpan d)
    {
        d = d.Duration();
        if (d.TotalDays >= 1)
        {
            return d.Hours > 0 ? $"{(int)d.TotalDays}d {d.Hours}h" : $"{(int)d.TotalDays}d";
        }

        if (d.TotalHours >= 1)
        {
            return d.Minutes > 0 ? $"{(int)d.TotalHours}h {d.Minutes}m" : $"{(int)d.TotalHours}h";
        }

        return d.TotalMinutes >= 1 ? $"{(int)d.TotalMinutes}m" : $"{Math.Max(0, (int)d.TotalSeconds)}s";
    }

    /// <summary>"in 3h 12m" or "5m ago".</summary>
    public static string Relative(DateTimeOffset t, DateTimeOffset now) =>
        t >= now ? $"in {Duration(t - now)}" : $"{Duration(now - t)} ago";

    /// <summary>"in 35m (14:20)", or "now" when <paramref name="t"/> is not in the future.</summary>
    public static string Upcoming(DateTimeOffset t, DateTimeOffset now) =>
        t <= now ? "now" : $"in {Duration(t - now)} ({LocalTime(t, now)})";

    /// <summary>GPU indices compactly: "0-7", "0,1", "0-3,6".</summary>
    public static string GpuIndices(IReadOnlyList<int> indices)
    {
        var sorted = indices.Distinct().Order().ToList();
        var parts = new List<string>();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1)
            {
                j++;
            }

            parts.Add(j - i >= 2
                ? $"{sorted[i].ToString(CultureInfo.InvariantCulture)}-{sorted[j].ToString(CultureInfo.InvariantCulture)}"
                : string.Join(',', sorted.GetRange(i, j - i + 1).Select(x => x.ToString(CultureInfo.InvariantCulture))));
            i = j + 1;
        }

        return string.Join(',', parts);
    }

    public static bool IsWaiting(ReservationDto r) => r.Status is "queued" or "pending";

    public static bool IsMultinode(ReservationDto r) => r.NodeCount > 1 || r.Nodes.Count > 1;

    /// <summary>"#1 for h100" (position among requests for the same GPU type), or null when the server gave none.</summary>
    public static string? QueuePosition(ReservationDto r) =>
        r.QueuePosition is { } pos ? $"#{pos.ToString(CultureInfo.InvariantCulture)} for {r.GpuType}" : null;

    /// <summary>"starts by 16:00 (likely ~14:20)": the guaranteed start and, when earlier, the likely one, with "in 35m"
    /// to the likely one when <paramref name="relative"/> ("starts by 16:00 (in 2h)" when there is no earlier likely
    /// start); "starting soon" once the guaranteed start has passed, "start unknown" when a queued request has none;
    /// null when there is nothing to say.</summary>
    public static string? StartEstimate(ReservationDto r, DateTimeOffset now, bool relative)
    {
        if (r.EstimatedStartAt is { } eta)
        {
            if (eta <= now)
            {
                return "starting soon";
            }

            if (r.LikelyStartAt is { } likely && likely < eta)
            {
                var when = likely <= now ? "soon" : $"~{LocalTime(likely, now)}{(relative ? $", in {Duration(likely - now)}" : "")}";
                return $"starts by {LocalTime(eta, now)} (likely {when})";
            }

            return relative ? $"starts by {LocalTime(eta, now)} (in {Duration(eta - now)})" : $"starts by {LocalTime(eta, now)}";
        }

        return r.Status == "queued" || r.QueuePosition is not null ? "start unknown" : null;
    }

    /// <summary>The human "when" column: expiry for running reservations, queue position and ETA while waiting
    /// ("#1, starts ~14:20 (in 35m)", "#1, start unknown").</summary>
    public static string When(ReservationDto r, DateTimeOffset now)
    {
        if (IsWaiting(r))
        {
            var parts = new List<string>();
            if (r.QueuePosition is { } pos)
            {
                parts.Add($"#{pos.ToString(CultureInfo.InvariantCulture)}");
            }

            if (StartEstimate(r, now, relative: true) is { } start)
            {
                parts.Add(start);
            }

            return parts.Count > 0 ? string.Join(", ", parts) : "waiting";
        }

        if (IsTerminal(r.Status))
        {
            return r.EndedAt is { } ended ? $"ended {Relative(ended, now)}" : "ended";
        }

        return r.ExpiresAt is { } exp ? (exp >= now ? $"expires {Relative(exp, now)}" : "expiring") : string.Empty;
    }

    /// <summary>One-line status for progress output, e.g.
    /// "queued: #1 for h100, starts ~14:20 (in 35m) — no node has 8 free h100; largest free block is 4 on local-2",
    /// or "failed (image pull failed)". <paramref name="relative"/> adds "(in 35m)" to the estimate (spinner text);
    /// line-by-line output leaves it out so the line only changes when the estimate does.</summary>
    public static string StatusLine(ReservationDto r, DateTimeOffset now, bool relative = false)
    {
        if (IsWaiting(r))
        {
            var queue = new List<string>();
            if (QueuePosition(r) is { } position)
            {
                queue.Add(position);
            }

            if (StartEstimate(r, now, relative) is { } start)
            {
                queue.Add(start);
            }

            var line = queue.Count > 0 ? $"{r.Status}: {string.Join(", ", queue)}" : r.Status;
            var reason = string.IsNullOrWhiteSpace(r.WaitReason) ? r.StatusReason : r.WaitReason;
            return string.IsNullOrWhiteSpace(reason) ? line : $"{line} — {Humanize(reason, now)}";
        }

        return string.IsNullOrWhiteSpace(r.StatusReason) ? r.Status : $"{r.Status} ({Humanize(r.StatusReason, now)})";
    }

    public static string StatusMarkup(string status) => status switch
    {
        "active" => "[green]● active[/]",
        "queued" => "[yellow]◌ queued[/]",
        "pending" => "[yellow]◌ pending[/]",
        "preparing" => "[blue]◐ preparing[/]",
        "failed" => "[red]✗ failed[/]",
        "cancelled" => "[grey]○ cancelled[/]",
        "expired" => "[grey]○ expired[/]",
        _ => Spectre.Console.Markup.Escape(status),
    };
}

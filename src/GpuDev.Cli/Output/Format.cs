using System.Globalization;
using GpuDev.Contracts;

namespace GpuDev.Cli.Output;

/// <summary>Small formatting helpers shared by renderers.</summary>
internal static class Format
{
    public static readonly IReadOnlyList<string> Statuses = ["pending", "queued", "preparing", "active", "expired", "cancelled", "failed"];

    public static bool IsTerminal(string status) => status is "expired" or "cancelled" or "failed";

    public static string ShortId(string id) => id.Length > 8 ? id[..8] : id;

    public static string Gpus(ReservationDto r) => r.GpuCount <= 0 ? r.GpuType : $"{r.GpuCount}×{r.GpuType}";

    public static string Rfc3339(DateTimeOffset? t) =>
        t is null ? string.Empty : t.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string LocalTime(DateTimeOffset t, DateTimeOffset now)
    {
        var local = t.ToLocalTime();
        return local.Date == now.ToLocalTime().Date
            ? local.ToString("HH:mm", CultureInfo.InvariantCulture)
            : local.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
    }

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

    /// <summary>The human "when" column: expiry for running reservations, queue position/ETA while waiting.</summary>
    public static string When(ReservationDto r, DateTimeOffset now)
    {
        if (r.Status == "queued" || r.Status == "pending")
        {
            var parts = new List<string>();
            if (r.QueuePosition is { } pos)
            {
                parts.Add($"#{pos}");
            }

            if (r.EstimatedStartAt is { } eta)
            {
                parts.Add($"est. {LocalTime(eta, now)}");
            }

            return parts.Count > 0 ? string.Join(", ", parts) : "waiting";
        }

        if (IsTerminal(r.Status))
        {
            return r.EndedAt is { } ended ? $"ended {Relative(ended, now)}" : "ended";
        }

        return r.ExpiresAt is { } exp ? (exp >= now ? $"expires {Relative(exp, now)}" : "expiring") : string.Empty;
    }

    /// <summary>One-line status description: "queued (#2, est. 14:20; waiting for 8 h100 GPUs)".</summary>
    public static string StatusLine(ReservationDto r, DateTimeOffset now)
    {
        var details = new List<string>();
        if (r.Status is "queued" or "pending")
        {
            if (r.QueuePosition is { } pos)
            {
                details.Add($"position {pos}");
            }

            if (r.EstimatedStartAt is { } eta)
            {
                details.Add($"est. start {LocalTime(eta, now)}");
            }

            if (!string.IsNullOrWhiteSpace(r.WaitReason))
            {
                details.Add(r.WaitReason);
            }
        }

        if (!string.IsNullOrWhiteSpace(r.StatusReason))
        {
            details.Add(r.StatusReason);
        }

        return details.Count > 0 ? $"{r.Status} ({string.Join("; ", details)})" : r.Status;
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

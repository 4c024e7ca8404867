using System.Globalization;
using GpuDev.Contracts;
using Spectre.Console;

namespace GpuDev.Cli.Output;

/// <summary><c>gpu-dev avail</c>: a table per GPU type on a TTY; when piped, one tab-separated line per type with
/// type, free, total, largest free block, its node, nodes, GPUs per node, queued requests, queued GPUs,
/// next free at, full node free at (RFC 3339 UTC, empty when unknown), simulated (true/false), and the likely next free at
/// and likely full node free at (from how reservations here usually end; last, so scripts reading the first columns keep working).</summary>
internal static class AvailabilityTable
{
    public static void Write(IConsoleOutput console, AvailabilityResponse availability, DateTimeOffset now)
    {
        if (!console.IsOutputTty)
        {
            foreach (var t in availability.Types)
            {
                console.Out.WriteLine(string.Join('\t',
                    t.GpuType, Int(t.Free), Int(t.Total), Int(t.LargestFreeBlock), t.LargestFreeBlockNode ?? string.Empty,
                    Int(t.Nodes), Int(t.GpusPerNode), Int(t.Queued), Int(t.QueuedGpus),
                    Format.Rfc3339(t.NextFreeAt), Format.Rfc3339(t.FullNodeFreeAt), t.Simulated ? "true" : "false",
                    Format.Rfc3339(t.LikelyNextFreeAt), Format.Rfc3339(t.LikelyFullNodeFreeAt)));
            }

            return;
        }

        var table = new Table().NoBorder().HideRowSeparators();
        table.AddColumns("TYPE", "FREE", "LARGEST BLOCK", "NODES×GPUS", "QUEUED", "NEXT FREE", "FULL NODE");
        foreach (var column in table.Columns)
        {
            column.PadLeft(0).PadRight(2);
        }

        foreach (var t in availability.Types)
        {
            table.AddRow(
                Markup.Escape(t.GpuType) + (t.Simulated ? " [grey](simulated)[/]" : string.Empty),
                FreeMarkup(t),
                Markup.Escape(LargestBlock(t)),
                Markup.Escape($"{Int(t.Nodes)}×{Int(t.GpusPerNode)}"),
                Markup.Escape(Queued(t)),
                Markup.Escape(NextFree(t, now)),
                Markup.Escape(FullNode(t, now)));
        }

        console.OutConsole.Write(table);
    }

    /// <summary>"2 on local-1", or "0".</summary>
    public static string LargestBlock(GpuAvailabilityDto t) =>
        t.LargestFreeBlock > 0 && !string.IsNullOrEmpty(t.LargestFreeBlockNode)
            ? $"{Int(t.LargestFreeBlock)} on {t.LargestFreeBlockNode}"
            : Int(t.LargestFreeBlock);

    /// <summary>"2 (12 GPUs)", or "0".</summary>
    public static string Queued(GpuAvailabilityDto t) =>
        t.Queued > 0 ? $"{Int(t.Queued)} ({Int(t.QueuedGpus)} GPU{(t.QueuedGpus == 1 ? string.Empty : "s")})" : "0";

    /// <summary>"now" while a GPU is free, else "in 35m (14:20)" (by the booked ends) and, when reservations here
    /// usually end sooner, "; likely in 10m"; "unknown" when nothing running will free one.</summary>
    public static string NextFree(GpuAvailabilityDto t, DateTimeOffset now) =>
        t.Free > 0 ? "now" : t.NextFreeAt is { } at ? Format.Upcoming(at, now) + Likely(t.LikelyNextFreeAt, at, now) : "unknown";

    /// <summary>When a whole node is free: "now", "in 2h 5m (16:05)" (with "; likely in 50m" as for <see cref="NextFree"/>),
    /// or "never".</summary>
    public static string FullNode(GpuAvailabilityDto t, DateTimeOffset now)
    {
        if (t.FullNodeFreeAt is { } at)
        {
            return at <= now ? Format.Upcoming(at, now) : Format.Upcoming(at, now) + Likely(t.LikelyFullNodeFreeAt, at, now);
        }

        return t.GpusPerNode > 0 && t.LargestFreeBlock >= t.GpusPerNode ? "now" : "never";
    }

    /// <summary>"; likely in 10m" when the likely time is at least 5 minutes before the booked one; else nothing.</summary>
    private static string Likely(DateTimeOffset? likely, DateTimeOffset booked, DateTimeOffset now) =>
        likely is { } at && booked - at >= TimeSpan.FromMinutes(5)
            ? at <= now ? "; likely now" : $"; likely in {Format.Duration(at - now)}"
            : string.Empty;

    private static string FreeMarkup(GpuAvailabilityDto t)
    {
        var text = $"{Int(t.Free)}/{Int(t.Total)}";
        return t.Free == 0 ? $"[red]{text}[/]" : t.Free == t.Total ? $"[green]{text}[/]" : $"[yellow]{text}[/]";
    }

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}

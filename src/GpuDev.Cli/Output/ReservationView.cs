using System.Globalization;
using GpuDev.Contracts;
using Spectre.Console;

namespace GpuDev.Cli.Output;

/// <summary>The detail view of one reservation (used by <c>show</c> and at the end of <c>reserve</c>).</summary>
internal static class ReservationView
{
    public static void Write(IConsoleOutput console, ReservationDto r, DateTimeOffset now)
    {
        var tty = console.IsOutputTty;
        var w = console.Out;
        string Time(DateTimeOffset? t) => t is null ? "-" : tty ? $"{Format.LocalTime(t.Value, now)} ({Format.Relative(t.Value, now)})" : Format.Rfc3339(t);

        void Line(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                w.WriteLine($"{key + ":",-12} {value}");
            }
        }

        Line("ID", r.Id);
        Line("Name", r.Name);
        Line("User", r.User);
        Line("Status", r.Status);
        Line("Reason", r.StatusReason);
        if (r.Status is "queued" or "pending")
        {
            Line("Queue", r.QueuePosition?.ToString(CultureInfo.InvariantCulture));
            Line("Est. start", r.EstimatedStartAt is null ? null : Time(r.EstimatedStartAt));
            Line("Waiting", r.WaitReason);
        }

        Line("GPUs", r.NodeCount > 1 ? $"{Format.Gpus(r)} on {r.NodeCount} nodes" : Format.Gpus(r));
        foreach (var node in r.Nodes.OrderBy(n => n.Rank))
        {
            Line($"  rank {node.Rank}", $"{node.Node} (GPUs {string.Join(',', node.GpuIndices)})");
        }

        Line("Hours", r.Hours.ToString("0.####", CultureInfo.InvariantCulture));
        Line("Jupyter", r.Jupyter ? "enabled" : null);
        Line("Created", Time(r.CreatedAt));
        Line("Started", r.StartedAt is null ? null : Time(r.StartedAt));
        Line("Expires", r.ExpiresAt is null ? null : Time(r.ExpiresAt));
        Line("Ended", r.EndedAt is null ? null : Time(r.EndedAt));
        if (r.Ssh is { } ssh)
        {
            Line("SSH", ssh.Command);
            Line("Connect", $"gpu-dev connect {Format.ShortId(r.Id)}");
        }

        if (r.History.Count == 0)
        {
            return;
        }

        w.WriteLine();
        w.WriteLine("History:");
        if (tty)
        {
            var table = new Table().NoBorder();
            table.AddColumns("TIME", "FROM", "TO", "REASON");
            foreach (var column in table.Columns)
            {
                column.PadLeft(0).PadRight(2);
            }

            table.Columns[0].PadLeft(2);

            foreach (var h in r.History)
            {
                table.AddRow(Markup.Escape(Format.LocalTime(h.At, now)), Markup.Escape(h.From ?? "-"), Markup.Escape(h.To), Markup.Escape(h.Reason));
            }

            console.OutConsole.Write(table);
        }
        else
        {
            foreach (var h in r.History)
            {
                w.WriteLine($"  {Format.Rfc3339(h.At)}\t{h.From ?? "-"}\t{h.To}\t{h.Reason}");
            }
        }
    }

    /// <summary>What to print when a reservation became active.</summary>
    public static void WriteConnectInfo(TextWriter w, ReservationDto r)
    {
        var id8 = Format.ShortId(r.Id);
        w.WriteLine($"Reservation {id8} is active ({Format.Gpus(r)}{(r.ExpiresAt is { } e ? $", expires {Format.Rfc3339(e)}" : string.Empty)}).");
        w.WriteLine($"ID:       {r.Id}");
        w.WriteLine($"Connect:  gpu-dev connect {id8}");
        if (r.Ssh is { } ssh)
        {
            w.WriteLine($"SSH:      {ssh.Command}");
        }
    }
}

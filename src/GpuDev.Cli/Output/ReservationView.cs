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
        string Time(DateTimeOffset? t) => t is null ? "-" : tty ? Format.HumanTime(t.Value, now) : Format.Rfc3339(t);
        string? Text(string? serverText) => tty ? Format.Humanize(serverText, now) : serverText;

        void Line(string key, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                // Server text (names, reasons) never drives the terminal: control characters become spaces.
                w.WriteLine($"{key + ":",-12} {Ssh.ServerValues.Printable(value)}");
            }
        }

        Line("ID", r.Id);
        Line("Name", r.Name);
        Line("User", r.User);
        Line("Status", r.Status);
        if (!Format.IsWaiting(r) || string.IsNullOrWhiteSpace(r.WaitReason))
        {
            Line("Reason", Text(r.StatusReason));
        }

        if (Format.IsWaiting(r))
        {
            Line("Queue", Format.QueuePosition(r));
            if (r.EstimatedStartAt is { } eta)
            {
                Line("Starts", !tty ? Format.Rfc3339(eta)
                    : eta > now ? $"by {Format.LocalTime(eta, now)}, in {Format.Duration(eta - now)} (guaranteed: sooner if anything ends early)"
                    : $"soon (due {Format.LocalTime(eta, now)})");
                if (r.LikelyStartAt is { } likely && likely < eta)
                {
                    Line("Likely", !tty ? Format.Rfc3339(likely)
                        : likely > now ? $"~{Format.LocalTime(likely, now)}, in {Format.Duration(likely - now)} (from how reservations here usually end)"
                        : "soon (reservations here usually end before their booking)");
                }
            }
            else if (Format.StartEstimate(r, now, relative: false) is not null)
            {
                Line("Starts", "unknown");
            }

            Line("Why", Text(r.WaitReason));
        }

        var multinode = Format.IsMultinode(r);
        Line("GPUs", multinode ? $"{Format.Gpus(r)} on {Math.Max(r.NodeCount, r.Nodes.Count)} nodes" : Format.Gpus(r));
        foreach (var node in r.Nodes.OrderBy(n => n.Rank))
        {
            w.WriteLine($"  {NodeLine(node)}");
        }

        Line("Hours", r.Hours.ToString("0.####", CultureInfo.InvariantCulture));
        Line("Extended", r.ExtendedHours > 0 ? $"+{r.ExtendedHours.ToString("0.####", CultureInfo.InvariantCulture)}h" : null);
        Line("Disk", string.IsNullOrEmpty(r.Disk) ? null : $"{r.Disk} (mounted as /home/dev)");
        Line("Jupyter", !string.IsNullOrEmpty(r.JupyterUrl) ? r.JupyterUrl : r.Jupyter ? "enabled (URL not available yet)" : null);
        Line("Users", r.AddedUsers.Count > 0 ? $"{r.User} (owner), added: {string.Join(", ", r.AddedUsers)}" : null);
        Line("Created", Time(r.CreatedAt));
        Line("Started", r.StartedAt is null ? null : Time(r.StartedAt));
        Line("Expires", r.ExpiresAt is null ? null : Time(r.ExpiresAt));
        Line("Ended", r.EndedAt is null ? null : Time(r.EndedAt));
        if (!Format.IsTerminal(r.Status))
        {
            foreach (var warning in r.Warnings.OrderBy(x => x.At))
            {
                Line("Warning", WarningText(warning, now, tty));
            }
        }

        if (r.Ssh is { } ssh && !multinode)
        {
            Line("SSH", ssh.Command); // multinode: each rank's line above has its own
        }

        if (r.Ssh is not null || r.Nodes.Any(n => n.Ssh is not null))
        {
            Line("Connect", ConnectCommand(r));
            if (r.Status == "active")
            {
                WriteIdeLines(w, r);
            }
        }

        if (r.Status == "active" || Format.IsWaiting(r) || r.Status == "preparing")
        {
            var id8 = Format.ShortId(r.Id);
            if (r.CanEdit)
            {
                Line("Edit", r.Status == "active" ? $"gpu-dev edit {id8} --extend [HOURS] | --enable-jupyter | --disable-jupyter | --add-user GH" : null);
                Line("Cancel", $"gpu-dev cancel {id8}");
            }
            else
            {
                Line("Access", $"you were added by {r.User}: you can show and connect, not edit or cancel");
            }
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
                table.AddRow(Markup.Escape(Format.LocalTime(h.At, now)), Markup.Escape(h.From == h.To ? "" : h.From ?? "-"), Markup.Escape(h.From == h.To ? "(note)" : h.To), Markup.Escape(Ssh.ServerValues.Printable(Format.Humanize(h.Reason, now))));
            }

            console.OutConsole.Write(table);
        }
        else
        {
            foreach (var h in r.History)
            {
                w.WriteLine($"  {Format.Rfc3339(h.At)}\t{h.From ?? "-"}\t{h.To}\t{Ssh.ServerValues.Printable(h.Reason)}");
            }
        }
    }

    /// <summary>What to print when a reservation became active.</summary>
    public static void WriteConnectInfo(TextWriter w, ReservationDto r, DateTimeOffset now, bool tty)
    {
        var id8 = Format.ShortId(r.Id);
        var expires = r.ExpiresAt is { } e ? $", expires {(tty ? Format.HumanTime(e, now) : Format.Rfc3339(e))}" : string.Empty;
        w.WriteLine($"Reservation {id8} is active ({Format.Gpus(r)}{expires}).");
        w.WriteLine($"ID:       {r.Id}");
        w.WriteLine($"Connect:  {ConnectCommand(r)}");
        if (Format.IsMultinode(r))
        {
            foreach (var node in r.Nodes.OrderBy(n => n.Rank))
            {
                w.WriteLine($"  {NodeLine(node)}");
            }
        }
        else if (r.Ssh is { } ssh)
        {
            w.WriteLine($"SSH:      {ssh.Command}");
        }

        w.WriteLine($"Alias:    ssh {Ssh.SshFiles.Alias(r.Id)}");
        if (!string.IsNullOrEmpty(r.JupyterUrl))
        {
            w.WriteLine($"Jupyter:  {r.JupyterUrl}");
        }
    }

    /// <summary>"⚠ expires in 5 minutes (warned 12:55)".</summary>
    public static string WarningText(WarningDto warning, DateTimeOffset now, bool tty) =>
        $"⚠ expires in {warning.MinutesBefore.ToString(CultureInfo.InvariantCulture)} minute{(warning.MinutesBefore == 1 ? string.Empty : "s")} "
        + $"(warned {(tty ? Format.LocalTime(warning.At, now) : Format.Rfc3339(warning.At))})";

    /// <summary>The ssh alias (from ~/.gpu-dev/ID-sshconfig) and the VS Code and Cursor ways in (S3).</summary>
    public static void WriteIdeLines(TextWriter w, ReservationDto r)
    {
        var alias = Ssh.SshFiles.Alias(r.Id);
        w.WriteLine($"{"Alias:",-12} ssh {alias}");
        if (Format.IsMultinode(r))
        {
            foreach (var node in r.Nodes.OrderBy(n => n.Rank))
            {
                w.WriteLine($"{string.Empty,-12}   ssh {Ssh.SshFiles.Alias(r.Id, node.Rank)}");
            }
        }

        w.WriteLine($"{"VS Code:",-12} vscode://vscode-remote/ssh-remote+{alias}/home/dev");
        w.WriteLine($"{string.Empty,-12} code --remote ssh-remote+{alias} /home/dev");
        w.WriteLine($"{"Cursor:",-12} cursor --remote ssh-remote+{alias} /home/dev");
    }

    /// <summary>"rank 1: local-2 (GPUs 0-7)  ssh -p 31002 dev@127.0.0.1".</summary>
    public static string NodeLine(NodeAllocationDto node) =>
        $"rank {node.Rank.ToString(CultureInfo.InvariantCulture)}: {node.Node} (GPUs {Format.GpuIndices(node.GpuIndices)})"
        + (node.Ssh is { } ssh ? $"  {ssh.Command}" : string.Empty);

    private static string ConnectCommand(ReservationDto r)
    {
        var id8 = Format.ShortId(r.Id);
        if (!Format.IsMultinode(r) || r.Nodes.Count == 0)
        {
            return $"gpu-dev connect {id8}";
        }

        var ranks = r.Nodes.Select(n => n.Rank).Order().ToList();
        return $"gpu-dev connect {id8} --node RANK  (ranks {string.Join(", ", ranks)}; default 0)";
    }
}

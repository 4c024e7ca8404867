using System.Globalization;
using GpuDev.Contracts;
using Spectre.Console;

namespace GpuDev.Cli.Output;

/// <summary><c>gpu-dev status</c>: counts and a node table on a TTY; <c>key&lt;TAB&gt;value</c> lines, then one
/// <c>node&lt;TAB&gt;name&lt;TAB&gt;type&lt;TAB&gt;gpus&lt;TAB&gt;free&lt;TAB&gt;simulated</c> line per node, when piped.</summary>
internal static class ClusterStatusView
{
    public static void Write(IConsoleOutput console, ClusterStatusDto s, DateTimeOffset now)
    {
        var w = console.Out;
        if (!console.IsOutputTty)
        {
            foreach (var (key, value) in new (string, string)[]
            {
                ("provider", s.Provider),
                ("at", Format.Rfc3339(s.At)),
                ("nodes", Int(s.Nodes)),
                ("totalGpus", Int(s.TotalGpus)),
                ("reservedGpus", Int(s.ReservedGpus)),
                ("freeGpus", Int(s.FreeGpus)),
                ("activeReservations", Int(s.ActiveReservations)),
                ("preparingReservations", Int(s.PreparingReservations)),
                ("queuedReservations", Int(s.QueuedReservations)),
            })
            {
                w.WriteLine($"{key}\t{value}");
            }

            foreach (var n in s.NodeList)
            {
                w.WriteLine(string.Join('\t', "node", n.Name, n.GpuType, Int(n.GpuCount), Int(n.FreeGpus), n.Simulated ? "true" : "false"));
            }

            return;
        }

        void Line(string key, string value) => w.WriteLine($"{key + ":",-12} {value}");

        Line("Provider", s.Provider);
        Line("Nodes", Int(s.Nodes));
        Line("Capacity", Gpus(s.TotalGpus));
        Line("Reserved", Gpus(s.ReservedGpus));
        Line("Free", Gpus(s.FreeGpus));
        Line("Active", Int(s.ActiveReservations));
        Line("Preparing", Int(s.PreparingReservations));
        Line("Queued", Int(s.QueuedReservations));
        Line("As of", Format.LocalTime(s.At, now));
        if (s.NodeList.Count == 0)
        {
            return;
        }

        w.WriteLine();
        var table = new Table().NoBorder().HideRowSeparators();
        table.AddColumns("NAME", "TYPE", "GPUS", "FREE");
        foreach (var column in table.Columns)
        {
            column.PadLeft(0).PadRight(2);
        }

        foreach (var n in s.NodeList)
        {
            table.AddRow(
                Markup.Escape(n.Name),
                Markup.Escape(n.GpuType) + (n.Simulated ? " [grey](simulated)[/]" : string.Empty),
                Int(n.GpuCount),
                Int(n.FreeGpus));
        }

        console.OutConsole.Write(table);
    }

    private static string Gpus(int n) => $"{Int(n)} GPU{(n == 1 ? string.Empty : "s")}";

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);
}

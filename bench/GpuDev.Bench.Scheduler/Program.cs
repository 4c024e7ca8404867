using System.Globalization;
using System.Runtime.InteropServices;
using GpuDev.Bench.Scheduler;

const string usage = """
    usage: GpuDev.Bench.Scheduler [all] [--quick]                  planning pass benchmark + replay of the default synthetic month
           GpuDev.Bench.Scheduler plan [--quick]                   planning pass benchmark only
           GpuDev.Bench.Scheduler replay [TRACE.csv] [--nodes N] [--gpus-per-node G] [--quick] [--ends-removed]
                                                                   strict FIFO vs backfill planner (and the likely start) on a trace (default: the synthetic month)
                                                                   (--ends-removed: again with every reservation running to its planned end)
           GpuDev.Bench.Scheduler generate [--seed S] [--days D] [--nodes N] [--load L]
                                                                   print the synthetic trace as CSV (default: the month shipped in bench/traces)
    trace CSV: header line 'submit_at_s,gpu_type,gpus,hours,ends_after_s,user' (user optional), then one request a line
               (ends_after_s empty when the reservation runs to its planned end; seconds after its start otherwise).
    """;

var o = Console.Out;
try
{
    var rest = new List<string>(args);
    var command = rest.Count > 0 && !rest[0].StartsWith('-') && rest[0] is "all" or "plan" or "replay" or "generate" ? rest[0] : "all";
    if (rest.Count > 0 && rest[0] == command)
    {
        rest.RemoveAt(0);
    }

    if (rest.Remove("--help") || rest.Remove("-h"))
    {
        o.Write(usage);
        return 0;
    }

    var quick = rest.Remove("--quick");
    var endsRemoved = rest.Remove("--ends-removed");
    var seed = Option(rest, "--seed", 42);
    var days = Option(rest, "--days", quick ? 2 : 30);
    var load = Option(rest, "--load", 0.8);
    var nodes = Option(rest, "--nodes", quick ? 16 : 64);
    var gpusPerNode = Option(rest, "--gpus-per-node", 8);
    string? tracePath = null;
    if (command == "replay" && rest.Count > 0 && !rest[0].StartsWith('-'))
    {
        tracePath = rest[0];
        rest.RemoveAt(0);
    }

    if (rest.Count > 0)
    {
        throw new ArgumentException($"unexpected argument '{rest[0]}'");
    }

    if (nodes < 1 || gpusPerNode < 1 || days < 1 || load <= 0)
    {
        throw new ArgumentException("--nodes, --gpus-per-node, --days and --load must be positive");
    }

    if (command == "generate")
    {
        Trace.Write(o, Trace.Generate(seed, days, nodes, load));
        return 0;
    }

    var trace = command is "all" or "replay"
        ? tracePath is null ? Trace.Generate(seed, days, nodes, load) : Trace.Read(tracePath)
        : null;
    Machine(o, quick);
    if (command is "all" or "plan")
    {
        PlanningBenchmark.Run(quick, o);
    }

    if (trace is not null)
    {
        var source = tracePath ?? string.Create(CultureInfo.InvariantCulture,
            $"synthetic {(days == 30 ? "month" : days == 7 ? "week" : $"{days} days")} (seed {seed}, load {load:0.##} of {nodes} × 8 GPUs{(days == 30 && seed == 42 && nodes == 64 && load == 0.8 ? "; = bench/traces/synthetic-month.csv" : "")})");
        Replay.Compare(o, source, trace, nodes, gpusPerNode);
        if (endsRemoved && trace.Any(r => r.EndsAfterS is not null))
        {
            // The same requests with every reservation running to its planned end: what the ETAs promise
            // ("exact when nothing ends early"), and the policies without the slack early cancels leave.
            Replay.Compare(o, source + ", early cancels removed (every reservation runs to its planned end)",
                [.. trace.Select(r => r with { EndsAfterS = null })], nodes, gpusPerNode);
        }
    }

    return 0;
}
catch (Exception e) when (e is TraceFormatException or ArgumentException or FileNotFoundException or DirectoryNotFoundException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    if (e is ArgumentException)
    {
        Console.Error.Write(usage);
    }

    return 2;
}

static T Option<T>(List<string> args, string name, T fallback)
    where T : ISpanParsable<T>
{
    var i = args.IndexOf(name);
    if (i < 0)
    {
        return fallback;
    }

    if (i + 1 >= args.Count || !T.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var value))
    {
        throw new ArgumentException($"{name} needs a {typeof(T).Name.ToLowerInvariant()} value");
    }

    args.RemoveRange(i, 2);
    return value;
}

static void Machine(TextWriter o, bool quick)
{
    var cpu = File.Exists("/proc/cpuinfo")
        ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
        : null;
    var os = File.Exists("/etc/os-release")
        ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?.Split('=', 2)[1].Trim('"')
        : null;
    o.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"Machine: {Environment.ProcessorCount} cores ({cpu ?? RuntimeInformation.ProcessArchitecture.ToString()}), {os ?? RuntimeInformation.OSDescription}, " +
        $".NET {Environment.Version}, Release build{(quick ? ", --quick sizes" : "")}; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC."));
    o.WriteLine();
}

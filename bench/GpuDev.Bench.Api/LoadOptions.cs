using System.Globalization;

namespace GpuDev.Bench.Api;

/// <summary>Command line of one load run.</summary>
internal sealed record LoadOptions(
    Uri Url, string? Token, string Name, IReadOnlyList<string> Paths, int Rate, TimeSpan Duration, TimeSpan Warmup, int Connections, TimeSpan Timeout, bool Header,
    int? ServerPid)
{
    public const string Usage =
        """
        usage: GpuDev.Bench.Api --url URL --name NAME (--path PATH ... | --paths-file FILE) [--token TOKEN]
                                [--rate 2000] [--duration 30] [--warmup 5] [--connections 64] [--timeout 5] [--header] [--server-pid PID]
          Open-loop GETs at a fixed rate; prints one markdown table row (latency from each request's scheduled send time;
          with --server-pid, the server process's CPU time per request, from /proc/PID/stat).
        """;

    public static LoadOptions Parse(string[] args)
    {
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var header = false;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--header")
            {
                header = true;
                continue;
            }

            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"unexpected argument '{args[i]}'");
            }

            if (!values.TryGetValue(args[i], out var list))
            {
                values[args[i]] = list = [];
            }

            list.Add(args[++i]);
        }

        string? One(string name) => values.TryGetValue(name, out var v) ? v[^1] : null;
        int Int(string name, int fallback) => One(name) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : fallback;
        var paths = values.GetValueOrDefault("--path") ?? [];
        if (One("--paths-file") is { } file)
        {
            paths.AddRange(File.ReadAllLines(file).Where(l => !string.IsNullOrWhiteSpace(l)));
        }

        if (One("--url") is not { } url || paths.Count == 0)
        {
            throw new ArgumentException("--url and at least one --path (or --paths-file) are required");
        }

        return new LoadOptions(new Uri(url), One("--token"), One("--name") ?? paths[0], paths, Int("--rate", 2000),
            TimeSpan.FromSeconds(Int("--duration", 30)), TimeSpan.FromSeconds(Int("--warmup", 5)), Int("--connections", 64),
            TimeSpan.FromSeconds(Int("--timeout", 5)), header, One("--server-pid") is { } pid ? int.Parse(pid, CultureInfo.InvariantCulture) : null);
    }
}

using System.Globalization;
using System.Text;

namespace GpuDev.Bench.Scheduler;

/// <summary>One row of a trace: a request submitted at <see cref="SubmitAtS"/> seconds after the trace start, for
/// <see cref="Gpus"/> GPUs of <see cref="GpuType"/> for <see cref="Hours"/>; <see cref="EndsAfterS"/> seconds after it
/// starts it is cancelled early (null: it runs to its planned end). <see cref="User"/> (optional: empty) lets the likely
/// start learn each user's habits.</summary>
internal sealed record TraceRequest(int Line, double SubmitAtS, string GpuType, int Gpus, double Hours, double? EndsAfterS, string User = "");

internal sealed class TraceFormatException(string message) : Exception(message);

/// <summary>CSV traces: <c>submit_at_s,gpu_type,gpus,hours,ends_after_s[,user]</c>, a header line, one request a line.</summary>
internal static class Trace
{
    public const string Header = "submit_at_s,gpu_type,gpus,hours,ends_after_s,user";

    /// <summary>The header without the user column (traces without users).</summary>
    public const string ShortHeader = "submit_at_s,gpu_type,gpus,hours,ends_after_s";

    public static List<TraceRequest> Read(string path)
    {
        using var reader = new StreamReader(path);
        return Read(reader, path);
    }

    public static List<TraceRequest> Read(TextReader reader, string source)
    {
        var requests = new List<TraceRequest>();
        var lineNo = 0;
        var sawHeader = false;
        var columns = 5;
        while (reader.ReadLine() is { } raw)
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (!sawHeader)
            {
                var header = string.Join(',', line.TrimStart('\uFEFF').Split(',').Select(c => c.Trim().ToLowerInvariant()));
                if (header is not (Header or ShortHeader))
                {
                    throw new TraceFormatException($"{source}:{lineNo}: expected the header line '{Header}' (the user column is optional), got '{line}'");
                }

                columns = header == Header ? 6 : 5;
                sawHeader = true;
                continue;
            }

            requests.Add(ParseRow(line, lineNo, source, columns));
        }

        return !sawHeader ? throw new TraceFormatException($"{source}: empty trace (expected the header line '{Header}')") : requests;
    }

    private static TraceRequest ParseRow(string line, int lineNo, string source, int columns)
    {
        var f = line.Split(',');
        if (f.Length != columns)
        {
            throw new TraceFormatException($"{source}:{lineNo}: expected {columns} columns ({(columns == 6 ? Header : ShortHeader)}), got {f.Length}: '{line}'");
        }

        TraceFormatException Bad(string column, string why) => new($"{source}:{lineNo}: {column} {why}: '{line}'");
        if (!double.TryParse(f[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var submit) || !double.IsFinite(submit) || submit < 0)
        {
            throw Bad("submit_at_s", "must be a number of seconds >= 0");
        }

        var type = f[1].Trim();
        if (type.Length == 0)
        {
            throw Bad("gpu_type", "must not be empty");
        }

        if (!int.TryParse(f[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var gpus) || gpus < 1)
        {
            throw Bad("gpus", "must be a whole number >= 1");
        }

        if (!double.TryParse(f[3], NumberStyles.Float, CultureInfo.InvariantCulture, out var hours) || !double.IsFinite(hours) || hours <= 0)
        {
            throw Bad("hours", "must be a number > 0");
        }

        double? endsAfter = null;
        if (f[4].Trim().Length > 0)
        {
            if (!double.TryParse(f[4], NumberStyles.Float, CultureInfo.InvariantCulture, out var e) || !double.IsFinite(e) || e < 0)
            {
                throw Bad("ends_after_s", "must be empty or a number of seconds >= 0");
            }

            endsAfter = e;
        }

        return new TraceRequest(lineNo, submit, type, gpus, hours, endsAfter, columns == 6 ? f[5].Trim() : "");
    }

    public static void Write(TextWriter writer, IEnumerable<TraceRequest> requests)
    {
        var sb = new StringBuilder();
        sb.Append(Header).Append('\n');
        foreach (var r in requests)
        {
            sb.Append(r.SubmitAtS.ToString("0.###", CultureInfo.InvariantCulture)).Append(',')
              .Append(r.GpuType).Append(',')
              .Append(r.Gpus.ToString(CultureInfo.InvariantCulture)).Append(',')
              .Append(r.Hours.ToString("0.###", CultureInfo.InvariantCulture)).Append(',');
            if (r.EndsAfterS is { } e)
            {
                sb.Append(e.ToString("0.###", CultureInfo.InvariantCulture));
            }

            sb.Append(',').Append(r.User).Append('\n');
        }

        writer.Write(sb.ToString());
    }

    /// <summary>The default synthetic trace: Poisson arrivals with a daily cycle (peak mid-afternoon UTC, trough
    /// at night, weekend at half rate) sized so that <paramref name="nodes"/> × 8 h100 GPUs are oversubscribed at
    /// the weekday peaks; sizes 1/2/4/8 GPUs plus 6% multinode (16 or 32 GPUs); planned durations log-uniform in
    /// 0.5–24 h (half-hour steps). Early ends as people really reserve: 80 users of uneven activity (the i-th submits
    /// ∝ 1/(i+1)^0.8), each with a habit (the share of a booking they typically use, uniform in 15–90%); each
    /// reservation uses its user's habit × a log-normal spread (σ 0.35), at most 99% — and 3% run to their planned end.
    /// Deterministic for a given seed.</summary>
    public static List<TraceRequest> Generate(int seed = 42, int days = 30, int nodes = 64, double load = 0.8)
    {
        var rng = new Random(seed);
        const int userCount = 80;
        const double ranToEnd = 0.03;
        var users = Enumerable.Range(0, userCount)
            .Select(i => (Name: $"user{i:D2}", Weight: 1 / Math.Pow(i + 1, 0.8), Habit: 0.15 + (0.75 * rng.NextDouble())))
            .ToList();
        var totalWeight = users.Sum(u => u.Weight);
        var meanUsed = (users.Sum(u => u.Weight * Math.Min(0.99, u.Habit * Math.Exp(0.35 * 0.35 / 2))) / totalWeight * (1 - ranToEnd)) + ranToEnd;
        var meanGpuHours = 4.34 * 6.07 * meanUsed; // E[gpus] × E[planned hours] × E[fraction of it used] for the mix below
        var capacityPerHour = nodes * 8.0;
        var meanRatePerHour = load * capacityPerHour / meanGpuHours;
        const double peakFactor = 1.8;
        var maxRatePerSecond = meanRatePerHour * peakFactor / 3600;
        var end = days * 86_400.0;
        var t = 0.0;
        var list = new List<TraceRequest>();
        while (true)
        {
            t += -Math.Log(1 - rng.NextDouble()) / maxRatePerSecond;
            if (t >= end)
            {
                break;
            }

            if (rng.NextDouble() * peakFactor > Shape(t))
            {
                continue; // thinning: keep with probability shape(t) / peak
            }

            var gpus = Stats.Pick(rng, [(1, 34), (2, 22), (4, 19), (8, 19), (16, 4), (32, 2)]);
            var hours = Math.Max(0.5, Math.Round(0.5 * Math.Pow(48, rng.NextDouble()) * 2) / 2);
            var user = PickUser(rng, users, totalWeight);
            double? endsAfter = null;
            if (rng.NextDouble() >= ranToEnd)
            {
                var normal = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                var used = Math.Clamp(user.Habit * Math.Exp(0.35 * normal), 0.01, 0.99);
                endsAfter = Math.Round(hours * 3600 * used);
            }

            list.Add(new TraceRequest(list.Count + 2, Math.Round(t), "h100", gpus, hours, endsAfter, user.Name));
        }

        return list;
    }

    private static (string Name, double Weight, double Habit) PickUser(Random rng, List<(string Name, double Weight, double Habit)> users, double totalWeight)
    {
        var x = rng.NextDouble() * totalWeight;
        foreach (var user in users)
        {
            if ((x -= user.Weight) < 0)
            {
                return user;
            }
        }

        return users[^1];
    }

    /// <summary>Relative arrival rate, mean ≈ 1 over a week: weekdays 1.2 ± 0.6 (peak 15:00), weekends half that.</summary>
    private static double Shape(double t)
    {
        var day = (int)(t / 86_400) % 7;
        var hour = t % 86_400 / 3600;
        var daily = 1 + (0.5 * Math.Sin(2 * Math.PI * (hour - 9) / 24));
        return (day >= 5 ? 0.5 : 1.2) * daily;
    }
}

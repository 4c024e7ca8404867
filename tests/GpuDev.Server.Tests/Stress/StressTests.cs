using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Core.Compute;
using Microsoft.Data.Sqlite;

namespace GpuDev.Server.Tests.Stress;

/// <summary>Many users reserve at once on a 64-GPU simulated fleet (8 nodes × 8 h100, fake provider), cancel at random,
/// and 5-minute reservations expire (fake time runs 1 s per 100 ms; expiry grace set so they end ~2 s after start).
/// Invariants are read from the SQLite file continuously; every request must end in a definite state.
/// CI size by default; <c>bench/stress.sh</c> runs it at 500 requests for minutes (GPU_DEV_STRESS_REQUESTS / _SECONDS).</summary>
public sealed class StressTests
{
    private const int Nodes = 8;
    private const int GpusPerNode = 8;

    private static int Requests => Env("GPU_DEV_STRESS_REQUESTS", 100);

    private static int Seconds => Env("GPU_DEV_STRESS_SECONDS", 15);

    [Fact]
    public async Task ConcurrentReserves_RandomCancelsAndExpiry_NoInvariantViolated()
    {
        var nodes = Enumerable.Range(0, Nodes).Select(i => new ComputeNode($"node-{i}", "h100", GpusPerNode, true)).ToArray();
        await using var server = new ServerFixture(new Dictionary<string, string>
        {
            ["Server:EnableFaultInjection"] = "true",
            ["Server:ExpiryGrace"] = "-00:04:58",
            ["Server:PollInterval"] = "00:00:01",
        }, nodes);
        var users = new List<HttpClient>();
        for (var u = 0; u < Math.Max(5, Requests / 10); u++)
        {
            users.Add(await server.ClientForAsync($"user{u}"));
        }

        var admin = await server.ClientForAsync("admin", admin: true);
        var db = $"Data Source={Path.Combine(server.DataDir, "gpu-dev.db")};Mode=ReadOnly";
        var violations = new ConcurrentQueue<string>();
        var checks = 0;
        using var stop = new CancellationTokenSource();
        var clock = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(100, CancellationToken.None);
                server.Time.Advance(TimeSpan.FromSeconds(1));
            }
        }, CancellationToken.None);
        var checker = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var v in await CheckAsync(db))
                {
                    violations.Enqueue(v);
                }

                Interlocked.Increment(ref checks);
                await Task.Delay(50, CancellationToken.None);
            }
        }, CancellationToken.None);

        var random = new Random(42);
        int[] sizes = [1, 1, 1, 2, 2, 4, 8];
        var latencies = new ConcurrentBag<double>();
        var statuses = new ConcurrentBag<HttpStatusCode>();
        var ids = new ConcurrentBag<string>();
        var plans = Enumerable.Range(0, Requests).Select(i => (
            Client: users[i % users.Count],
            Gpus: sizes[random.Next(sizes.Length)],
            Hours: random.Next(3) == 0 ? 1 : 0.0833,
            CancelAfter: random.Next(2) == 0 ? TimeSpan.FromMilliseconds(random.Next(Seconds * 1000)) : (TimeSpan?)null)).ToList();
        using var gate = new SemaphoreSlim(0);
        var started = Stopwatch.StartNew();
        var work = plans.Select(async plan =>
        {
            await gate.WaitAsync();
            var watch = Stopwatch.StartNew();
            using var response = await plan.Client.PostAsJsonAsync(Routes.Reservations,
                new CreateReservationRequest { GpuType = "h100", GpuCount = plan.Gpus, Hours = plan.Hours }, GpuDevJsonContext.Default.CreateReservationRequest);
            latencies.Add(watch.Elapsed.TotalMilliseconds);
            statuses.Add(response.StatusCode);
            var created = await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto);
            ids.Add(created!.Id);
            if (plan.CancelAfter is { } after)
            {
                await Task.Delay(after);
                using var cancelled = await plan.Client.DeleteAsync(Routes.Reservation(created.Id));
                Assert.True(cancelled.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict, $"cancel -> {cancelled.StatusCode}");
            }
        }).ToList();
        gate.Release(Requests);
        await Task.WhenAll(work);
        var remaining = TimeSpan.FromSeconds(Seconds) - started.Elapsed;
        if (remaining > TimeSpan.Zero)
        {
            await Task.Delay(remaining);
        }

        // The end: whatever is still live is cancelled by an admin; everything must then settle, GPUs all free.
        foreach (var id in ids)
        {
            using var response = await admin.DeleteAsync(Routes.Reservation(id));
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Conflict, $"{id}: {response.StatusCode}");
        }

        var settled = await SettleAsync(db, TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await Task.WhenAll(clock, checker);
        var final = await FinalStatesAsync(db);

        var sorted = latencies.Order().ToArray();
        var report = string.Create(CultureInfo.InvariantCulture,
            $"""
            | requests | users | fleet | run (s) | accepted | p50 accept (ms) | p99 accept (ms) | max (ms) | invariant checks | violations | final states |
            |---|---|---|---|---|---|---|---|---|---|---|
            | {Requests} | {users.Count} | {Nodes}x{GpusPerNode} h100 | {started.Elapsed.TotalSeconds:0} | {statuses.Count(s => s == HttpStatusCode.Created)} | {Percentile(sorted, 0.50):0} | {Percentile(sorted, 0.99):0} | {sorted[^1]:0} | {checks} | {violations.Count} | {string.Join(", ", final.Select(f => $"{f.Key} {f.Value}"))} |
            """);
        TestContext.Current.TestOutputHelper?.WriteLine(report);
        if (Environment.GetEnvironmentVariable("GPU_DEV_STRESS_REPORT") is { Length: > 0 } path)
        {
            await File.WriteAllTextAsync(path, report + "\n");
        }

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Created, s));
        Assert.Empty(violations.Take(20));
        Assert.True(settled, $"not settled: {string.Join(", ", final.Select(f => $"{f.Key} {f.Value}"))}");
        Assert.Equal(Requests, final.Where(f => f.Key is "cancelled" or "expired").Sum(f => f.Value));
        Assert.Empty(server.Provider.Environments);
    }

    /// <summary>One consistent read (a SQLite read transaction): live placements are disjoint, within node sizes and
    /// backed by allocation rows of their own reservation; no allocation belongs to a queued or pending request.</summary>
    private static async Task<List<string>> CheckAsync(string connectionString)
    {
        var found = new List<string>();
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var placements = await ReadAsync(connection, """
            SELECT n.node, n.gpu_indices, r.id FROM reservation_nodes n JOIN reservations r ON r.id = n.reservation_id
            WHERE r.status IN ('active', 'preparing');
            """);
        var allocations = await ReadAsync(connection, "SELECT a.node, a.gpu_index, a.reservation_id, r.status FROM gpu_allocations a JOIN reservations r ON r.id = a.reservation_id;");
        var owner = allocations.ToDictionary(a => (a[0], a[1]), a => a[2]);
        var seen = new Dictionary<(string, string), string>();
        foreach (var p in placements)
        {
            foreach (var gpu in p[1].Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                if (seen.TryGetValue((p[0], gpu), out var other))
                {
                    found.Add($"GPU {p[0]}/{gpu} in two live reservations: {other} and {p[2]}");
                }

                seen[(p[0], gpu)] = p[2];
                if (owner.GetValueOrDefault((p[0], gpu)) != p[2])
                {
                    found.Add($"{p[2]} is live on {p[0]}/{gpu} without holding its allocation");
                }

                if (int.Parse(gpu, CultureInfo.InvariantCulture) >= GpusPerNode)
                {
                    found.Add($"{p[2]} placed on {p[0]}/{gpu}, beyond the node's {GpusPerNode}");
                }
            }
        }

        found.AddRange(seen.GroupBy(s => s.Key.Item1).Where(g => g.Count() > GpusPerNode).Select(g => $"node {g.Key}: {g.Count()} GPUs live"));
        found.AddRange(allocations.Where(a => a[3] is "pending" or "queued").Select(a => $"{a[2]} is {a[3]} but holds {a[0]}/{a[1]}"));
        return found;
    }

    /// <summary>Every reservation ended and its teardown done: no allocation, no job left.</summary>
    private static async Task<bool> SettleAsync(string connectionString, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (DateTime.UtcNow < deadline)
        {
            await using var connection = new SqliteConnection(connectionString);
            await connection.OpenAsync();
            var live = await ReadAsync(connection, "SELECT COUNT(*) FROM reservations WHERE status NOT IN ('cancelled', 'expired', 'failed');");
            var held = await ReadAsync(connection, "SELECT COUNT(*) FROM gpu_allocations;");
            var jobs = await ReadAsync(connection, "SELECT COUNT(*) FROM jobs WHERE kind <> 'Warn';");
            if (live[0][0] == "0" && held[0][0] == "0" && jobs[0][0] == "0")
            {
                return true;
            }

            await Task.Delay(100);
        }

        return false;
    }

    private static async Task<Dictionary<string, int>> FinalStatesAsync(string connectionString)
    {
        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync();
        return (await ReadAsync(connection, "SELECT status, COUNT(*) FROM reservations GROUP BY status ORDER BY status;"))
            .ToDictionary(r => r[0], r => int.Parse(r[1], CultureInfo.InvariantCulture));
    }

    private static async Task<List<string[]>> ReadAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string[]>();
        while (await reader.ReadAsync())
        {
            rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture) ?? "")]);
        }

        return rows;
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out var value) && value > 0 ? value : fallback;
}

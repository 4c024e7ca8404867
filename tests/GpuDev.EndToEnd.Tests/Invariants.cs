using System.Globalization;
using System.Net.Sockets;

namespace GpuDev.EndToEnd.Tests;

/// <summary>What must hold for a real server's store and this machine, read straight from the SQLite file and the
/// provider's state directory (not through the API under test). Written once, used by every crash test.</summary>
internal static class Invariants
{
    public static readonly string[] Terminal = ["cancelled", "expired", "failed"];

    /// <summary>Polls until every reservation is in a definite state (active, or ended with its teardown finished) and
    /// every invariant holds; fails with the violations still seen at the deadline.</summary>
    public static async Task AssertSettledAsync(ServerProcess server, TimeSpan within, int? expectedSnapshots = null)
    {
        var deadline = DateTime.UtcNow + within;
        IReadOnlyList<string> violations;
        while (true)
        {
            violations = await ViolationsAsync(server, expectedSnapshots);
            if (violations.Count == 0 || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(250);
        }

        Assert.True(violations.Count == 0, $"invariants violated after {within.TotalSeconds} s:\n{string.Join('\n', violations)}\n--- server log ---\n{server.Log}");
    }

    /// <summary>(id, status) of every reservation in the store.</summary>
    public static async Task<IReadOnlyList<(string Id, string Status)>> ReservationsAsync(ServerProcess server) =>
        [.. (await QueryAsync(Path.Combine(server.DataDir, "gpu-dev.db"), "SELECT id, status FROM reservations;")).Select(r => (r[0], r[1]))];

    public static async Task<IReadOnlyList<string>> ViolationsAsync(ServerProcess server, int? expectedSnapshots = null)
    {
        var db = Path.Combine(server.DataDir, "gpu-dev.db");
        var violations = new List<string>();
        var reservations = await QueryAsync(db, "SELECT id, status, gpu_count, COALESCE(ssh_port, 0) FROM reservations;");
        var allocations = await QueryAsync(db, "SELECT node, gpu_index, reservation_id FROM gpu_allocations;");
        var nodes = (await QueryAsync(db, "SELECT name, gpu_count FROM nodes;")).ToDictionary(n => n[0], n => int.Parse(n[1], CultureInfo.InvariantCulture));
        var jobs = await QueryAsync(db, "SELECT reservation_id, kind FROM jobs;");
        var statusOf = reservations.ToDictionary(r => r[0], r => r[1]);

        foreach (var node in allocations.GroupBy(a => a[0]))
        {
            if (!nodes.TryGetValue(node.Key, out var size) || node.Count() > size || node.Any(a => int.Parse(a[1], CultureInfo.InvariantCulture) >= size))
            {
                violations.Add($"node {node.Key}: {node.Count()} GPUs allocated, size {size}");
            }
        }

        foreach (var allocation in allocations.Where(a => statusOf.GetValueOrDefault(a[2]) is not ("active" or "preparing")))
        {
            violations.Add($"GPU {allocation[0]}/{allocation[1]} held by {allocation[2]} which is {statusOf.GetValueOrDefault(allocation[2]) ?? "unknown"}");
        }

        foreach (var r in reservations)
        {
            var (id, status, gpus, port) = (r[0], r[1], int.Parse(r[2], CultureInfo.InvariantCulture), int.Parse(r[3], CultureInfo.InvariantCulture));
            var envDir = Path.Combine(server.StateDir, "envs", id);
            var held = allocations.Count(a => a[2] == id);
            if (status == "active")
            {
                if (held != gpus)
                {
                    violations.Add($"{id} active with {held} GPUs allocated, wants {gpus}");
                }

                if (!Directory.Exists(envDir) || port == 0 || !await AnswersAsync(port))
                {
                    violations.Add($"{id} active but its environment is missing or sshd (port {port}) does not answer");
                }
            }
            else if (Terminal.Contains(status))
            {
                violations.AddRange(await LeftoversAsync(id, envDir, port));
                violations.AddRange(jobs.Where(j => j[0] == id).Select(j => $"{id} {status} but its {j[1]} job is still queued"));
            }
            else
            {
                violations.Add($"{id} not in a definite state: {status}");
            }
        }

        violations.AddRange(await DiskViolationsAsync(server, db, statusOf, expectedSnapshots));
        return violations;
    }

    /// <summary>What an ended reservation must not leave: its state dir, containers, network, listening port.</summary>
    private static async Task<IEnumerable<string>> LeftoversAsync(string id, string envDir, int port)
    {
        var found = new List<string>();
        if (Directory.Exists(envDir))
        {
            found.Add($"{id} ended but {envDir} remains");
        }

        if ((await Proc.RunAsync("podman", ["ps", "-a", "--format", "{{.Names}}", "--filter", "label=gpu-dev.io/reservation=" + id])).Stdout.Trim() is { Length: > 0 } containers)
        {
            found.Add($"{id} ended but containers remain: {containers.ReplaceLineEndings(",")}");
        }

        if ((await Proc.RunAsync("podman", ["network", "exists", "gpudev-" + id])).ExitCode == 0)
        {
            found.Add($"{id} ended but its network gpudev-{id} remains");
        }

        if (port != 0 && await AnswersAsync(port))
        {
            found.Add($"{id} ended but port {port} still answers");
        }

        return found;
    }

    private static async Task<IEnumerable<string>> DiskViolationsAsync(ServerProcess server, string db, Dictionary<string, string> statusOf, int? expectedSnapshots)
    {
        var found = new List<string>();
        var disks = await QueryAsync(db, "SELECT id, status, COALESCE(attached_reservation, '') FROM disks WHERE deleted_at IS NULL;");
        foreach (var d in disks)
        {
            var (id, status, attached) = (d[0], d[1], d[2]);
            var holderActive = statusOf.GetValueOrDefault(attached) is "active" or "preparing";
            if (!holderActive && status != "available")
            {
                found.Add($"disk {id} is {status} but no live reservation holds it");
            }

            var recorded = (await QueryAsync(db, $"SELECT id FROM disk_snapshots WHERE disk_id = '{id}';")).Select(s => s[0]).ToHashSet();
            var dir = Path.Combine(server.StateDir, "disks", id, "snapshots");
            var onDisk = Directory.Exists(dir)
                ? Directory.EnumerateFiles(dir, "*.list.tsv").Select(f => Path.GetFileName(f)[..^".list.tsv".Length]).ToHashSet()
                : [];
            if (!recorded.SetEquals(onDisk))
            {
                found.Add($"disk {id}: snapshots recorded [{string.Join(",", recorded)}] but stored [{string.Join(",", onDisk)}]");
            }

            if (!holderActive && expectedSnapshots is { } expected && recorded.Count != expected)
            {
                found.Add($"disk {id}: {recorded.Count} snapshots, expected {expected}");
            }
        }

        return found;
    }

    private static async Task<bool> AnswersAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync("127.0.0.1", port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Rows of a read-only query through the sqlite3 tool ('|'-separated; the server may be writing: WAL).</summary>
    private static async Task<List<string[]>> QueryAsync(string db, string sql)
    {
        var result = E2e.Check(await Proc.RunAsync("sqlite3", ["-readonly", "-cmd", ".timeout 5000", "-separator", "|", db, sql]));
        return [.. result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split('|'))];
    }
}

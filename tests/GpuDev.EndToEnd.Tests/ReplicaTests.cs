using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GpuDev.Testing.Postgres;
using Npgsql;

namespace GpuDev.EndToEnd.Tests;

/// <summary>Two <c>gpu-dev-server</c> replicas on one throwaway PostgreSQL database (local provider, simulated GPUs):
/// 200 concurrent requests spread over both, some cancelled, one replica killed with SIGKILL in the middle. The users
/// have no SSH key, so every request runs the whole pipeline cheaply: scheduled (GPUs allocated), provision job fails
/// it, teardown job frees the GPUs; with 16 GPUs the requests queue and pass through in waves. It runs alone (its load
/// would slow the timing checks of the other end-to-end tests on a small machine).</summary>
[Collection(nameof(ReplicaTests))]
public sealed class ReplicaTests
{
    private const int Requests = 200;
    private const int Users = 10;

    [Fact]
    public async Task TwoReplicas_OneKilledMidway_EveryRequestDefiniteNoGpuTwiceNoJobLostOrDoubled()
    {
        await using var cluster = await StartPostgresAsync();
        var connectionString = await cluster.CreateDatabaseAsync("replicas");
        var dataDir = Directory.CreateTempSubdirectory("gpu-dev-e2e-replicas-").FullName;
        var store = new[] { "--store", "postgres", "--postgres", connectionString };
        // Short leases so the test sees takeovers in seconds: singleton workers within 6 s, jobs of the dead replica within 20 s.
        var environment = new Dictionary<string, string> { ["GPUDEV_SERVER__LEADERLEASE"] = "00:00:06", ["GPUDEV_SERVER__JOBLEASE"] = "00:00:20" };
        var clock = Stopwatch.StartNew();
        var starts = await Task.WhenAll(
            ServerProcess.StartAsync("h100:8,h100:8", dataDir, extraArgs: store, environment: environment),
            ServerProcess.StartAsync("h100:8,h100:8", dataDir, extraArgs: store, environment: environment));
        var (victim, survivor) = (starts[0], starts[1]);
        var figures = new StringBuilder();
        figures.AppendLine($"two replicas up: {clock.Elapsed.TotalSeconds:F1} s");
        try
        {
            var tokens = await Task.WhenAll(Enumerable.Range(0, Users).Select(async u =>
                (await E2e.CheckAsync(Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", $"rep{u}", .. store]))).Stdout.Trim()));
            figures.AppendLine($"{Users} users added: {clock.Elapsed.TotalSeconds:F1} s");
            await using (var setup = NpgsqlDataSource.Create(connectionString))
            await using (var command = setup.CreateCommand(AuditTrigger))
            {
                await command.ExecuteNonQueryAsync();
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var outcomes = new ConcurrentDictionary<int, Outcome>();
            var started = 0;
            var killed = new TaskCompletionSource();
            using var gate = new SemaphoreSlim(24);
            var requests = Enumerable.Range(0, Requests).Select(async i =>
            {
                await gate.WaitAsync();
                try
                {
                    if (Interlocked.Increment(ref started) == Requests / 2)
                    {
                        _ = Task.Run(async () =>
                        {
                            await victim.CrashAsync();
                            killed.SetResult();
                        });
                    }

                    var token = tokens[i % Users];
                    var first = i % 2 == 0 ? victim : survivor;
                    var outcome = await ReserveAsync(http, first, survivor, token, $"replica-test-{i}", i);
                    if (outcome.Id is { } id && i % 5 == 0)
                    {
                        outcome = outcome with { Cancel = await CancelAsync(http, first, survivor, token, id) };
                    }

                    outcomes[i] = outcome;
                }
                finally
                {
                    gate.Release();
                }
            });
            await Task.WhenAll(requests);
            await killed.Task;
            figures.AppendLine($"{Requests} requests answered (one replica killed after {Requests / 2} started): {clock.Elapsed.TotalSeconds:F1} s");

            // Every request ended in a definite state: an answer from a replica, possibly after its idempotent retry on the survivor.
            Assert.Equal(Requests, outcomes.Count);
            Assert.All(outcomes.Values, o => Assert.True(o.Status is HttpStatusCode.Created or HttpStatusCode.OK || (int)o.Status is >= 400 and < 500, $"request {o.Index}: {o.Status} {o.Body}"));
            Assert.All(outcomes.Values.Where(o => o.Cancel is not null), o => Assert.True((int)o.Cancel!.Value < 500, $"cancel {o.Index}: {o.Cancel}"));
            var answered = outcomes.Values.Where(o => o.Id is not null).Select(o => o.Id!).ToHashSet();
            Assert.Equal(answered.Count, outcomes.Values.Count(o => o.Id is not null));
            var retried = outcomes.Values.Count(o => o.Attempts > 1);

            // No job lost: once the survivor holds the leases (and the dead replica's job leases ran out), everything ends.
            await using var db = NpgsqlDataSource.Create(connectionString);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
            while (await CountAsync(db, "SELECT COUNT(*) FROM reservations WHERE status IN ('pending', 'queued', 'preparing', 'active')") + await CountAsync(db, "SELECT COUNT(*) FROM jobs") > 0)
            {
                Assert.True(DateTime.UtcNow < deadline, $"still live after 120 s: {await CountAsync(db, "SELECT COUNT(*) FROM reservations WHERE status IN ('pending', 'queued', 'preparing', 'active')")} reservations, {await CountAsync(db, "SELECT COUNT(*) FROM jobs")} jobs");
                await Task.Delay(500);
            }

            figures.AppendLine($"all reservations ended, no job left: {clock.Elapsed.TotalSeconds:F1} s ({retried} requests retried on the survivor)");
            Assert.Equal(0, await CountAsync(db, "SELECT COUNT(*) FROM gpu_allocations"));

            // The store holds exactly the answered reservations: nothing created twice, nothing created without an answer.
            var stored = await ReservationsAsync(db);
            Assert.Equal(answered.Order(), stored.Keys.Order());

            // One history entry per transition: a chain from 'requested' with no step repeated.
            foreach (var (id, r) in stored)
            {
                Assert.Equal((null, "pending"), (r.History[0].From, r.History[0].To));
                for (var k = 1; k < r.History.Count; k++)
                {
                    Assert.True(r.History[k].From == r.History[k - 1].To, $"{id}: {string.Join(" > ", r.History.Select(h => $"{h.From}->{h.To}"))}");
                    Assert.True(r.History[k].From != r.History[k].To || r.History[k].To is "pending" or "queued" or "preparing", $"{id}: repeated {r.History[k].To}");
                }

                var changes = r.History.Where(h => h.From != h.To).ToList();
                Assert.Equal(changes.Count, changes.Distinct().Count());
                Assert.Contains(r.Status, new[] { "failed", "cancelled" });
            }

            // No GPU allocated twice: the audit trail of gpu_allocations, per GPU in the order the rows were written, alternates
            // taken (by one reservation) and freed (by the same one). A second 'taken' before the 'freed' would be a double allocation.
            var audit = await AuditAsync(db);
            Assert.Equal(stored.Values.Sum(r => r.Gpus.Count), audit.Count(e => e.Op == "I"));
            foreach (var gpu in audit.GroupBy(e => e.Gpu))
            {
                string? holder = null;
                foreach (var e in gpu)
                {
                    Assert.True(e.Op == "I" ? holder is null : holder == e.ReservationId,
                        $"GPU {gpu.Key}: {e.Op} by {e.ReservationId} while held by {holder ?? "nobody"}: {string.Join(", ", gpu.Select(x => $"{x.Op}:{x.ReservationId[..8]}"))}");
                    holder = e.Op == "I" ? e.ReservationId : null;
                }

                Assert.Null(holder);
            }

            Assert.Contains("This replica runs the scheduler worker", survivor.Log, StringComparison.Ordinal);
            figures.AppendLine($"{stored.Count} reservations, {stored.Values.Count(r => r.PlacedAt is not null)} placed, {stored.Values.Count(r => r.Status == "cancelled")} cancelled, checked: {clock.Elapsed.TotalSeconds:F1} s");
            TestContext.Current.TestOutputHelper?.WriteLine(figures.ToString());
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\n{figures}\n--- survivor log (tail) ---\n{Tail(survivor.Log)}\n--- killed replica log (tail) ---\n{Tail(victim.Log)}", e);
        }
        finally
        {
            await victim.DisposeAsync();
            await survivor.DisposeAsync();
        }
    }

    /// <summary>Test-only trigger: every insert into and delete from gpu_allocations, numbered in the order written.</summary>
    private const string AuditTrigger =
        """
        CREATE TABLE test_gpu_audit (seq bigserial PRIMARY KEY, node text NOT NULL, gpu_index integer NOT NULL, reservation_id text NOT NULL, op text NOT NULL);
        CREATE FUNCTION test_gpu_audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                INSERT INTO test_gpu_audit (node, gpu_index, reservation_id, op) VALUES (NEW.node, NEW.gpu_index, NEW.reservation_id, 'I');
            ELSE
                INSERT INTO test_gpu_audit (node, gpu_index, reservation_id, op) VALUES (OLD.node, OLD.gpu_index, OLD.reservation_id, 'D');
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER test_gpu_audit AFTER INSERT OR DELETE ON gpu_allocations FOR EACH ROW EXECUTE FUNCTION test_gpu_audit();
        """;

    private static async Task<List<(string Gpu, string ReservationId, string Op)>> AuditAsync(NpgsqlDataSource db)
    {
        var events = new List<(string, string, string)>();
        await using var command = db.CreateCommand("SELECT node, gpu_index, reservation_id, op FROM test_gpu_audit ORDER BY seq");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            events.Add(($"{reader.GetString(0)}/{reader.GetInt32(1)}", reader.GetString(2), reader.GetString(3)));
        }

        return events;
    }

    internal static async Task<TempPostgres> StartPostgresAsync()
    {
        if (TempPostgres.WhyUnavailable() is { } reason)
        {
            if (Environment.GetEnvironmentVariable(TempPostgres.OptOutVariable) == "1")
            {
                TestSkips.Skip($"{reason} ({TempPostgres.OptOutVariable}=1)");
            }

            Assert.Fail($"{reason}. Set {TempPostgres.OptOutVariable}=1 to skip the PostgreSQL tests instead.");
        }

        return await TempPostgres.StartAsync();
    }

    private sealed record Outcome(int Index, HttpStatusCode Status, string? Id, string Body, int Attempts)
    {
        public HttpStatusCode? Cancel { get; init; }
    }

    private sealed record Stored(string Id, string Status, long? PlacedAt, long? EndedAt, List<string> Gpus, List<(string? From, string To)> History);

    /// <summary>POST to <paramref name="first"/>; when no answer comes (the replica died), the same request with the same
    /// idempotency key goes to the survivor, as the CLI's retry would.</summary>
    private static async Task<Outcome> ReserveAsync(HttpClient http, ServerProcess first, ServerProcess survivor, string token, string key, int index)
    {
        var target = first;
        var gpus = (index % 3) switch { 0 => 1, 1 => 2, _ => 4 };
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"{target.Url}/api/v1/reservations")
            {
                Content = new StringContent($$"""{"gpuType":"h100","gpuCount":{{gpus}},"hours":0.1,"disk":"none"}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.Add("Idempotency-Key", key);
            try
            {
                using var response = await http.SendAsync(request);
                var body = await response.Content.ReadAsStringAsync();
                var id = response.IsSuccessStatusCode ? JsonDocument.Parse(body).RootElement.GetProperty("id").GetString() : null;
                return new Outcome(index, response.StatusCode, id, body, attempt);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && attempt < 3)
            {
                target = survivor;
            }
        }
    }

    private static async Task<HttpStatusCode> CancelAsync(HttpClient http, ServerProcess first, ServerProcess survivor, string token, string id)
    {
        var target = first;
        for (var attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Delete, $"{target.Url}/api/v1/reservations/{id}");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            try
            {
                using var response = await http.SendAsync(request);
                return response.StatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && attempt < 3)
            {
                target = survivor;
            }
        }
    }

    private static async Task<long> CountAsync(NpgsqlDataSource db, string sql)
    {
        await using var command = db.CreateCommand(sql);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task<Dictionary<string, Stored>> ReservationsAsync(NpgsqlDataSource db)
    {
        var stored = new Dictionary<string, Stored>();
        await using (var command = db.CreateCommand(
            """
            SELECT r.id, r.status,
                (SELECT MIN(h.at) FROM reservation_history h WHERE h.reservation_id = r.id AND h.to_status = 'preparing'),
                (SELECT MIN(h.at) FROM reservation_history h WHERE h.reservation_id = r.id AND h.to_status IN ('failed', 'cancelled', 'expired'))
            FROM reservations r
            """))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var id = reader.GetString(0);
                stored[id] = new Stored(id, reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetInt64(3), [], []);
            }
        }

        await using (var command = db.CreateCommand("SELECT reservation_id, node, gpu_indices FROM reservation_nodes"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                stored[reader.GetString(0)].Gpus.AddRange(reader.GetString(2).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(g => $"{reader.GetString(1)}/{g}"));
            }
        }

        await using (var command = db.CreateCommand("SELECT reservation_id, from_status, to_status FROM reservation_history ORDER BY id"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                stored[reader.GetString(0)].History.Add((reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2)));
            }
        }

        return stored;
    }

    private static string Tail(string log) => log.Length > 6000 ? log[^6000..] : log;
}

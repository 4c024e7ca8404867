using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;

namespace GpuDev.EndToEnd.Tests;

/// <summary>A request's first job is stored with it and claimed by the replica that took it, so the request is placed at
/// once on either replica, not on the scheduler's next poll on the replica that holds the scheduler lease. The poll is
/// set to 10 minutes here: a request that waited for it would not be placed within the test's bound.</summary>
[Collection(nameof(ReplicaTests))]
public sealed class FirstJobTests
{
    [Fact]
    public async Task NewRequest_PlacedAtOnce_OnTheReplicaWithoutTheSchedulerLease()
    {
        await using var cluster = await ReplicaTests.StartPostgresAsync();
        var connectionString = await cluster.CreateDatabaseAsync("firstjob");
        var dataDir = Directory.CreateTempSubdirectory("gpu-dev-e2e-firstjob-").FullName;
        string[] store = ["--store", "postgres", "--postgres", connectionString];
        var environment = new Dictionary<string, string> { ["GPUDEV_SERVER__POLLINTERVAL"] = "00:10:00" };
        var replicas = await Task.WhenAll(
            ServerProcess.StartAsync("h100:8", dataDir, extraArgs: store, environment: environment),
            ServerProcess.StartAsync("h100:8", dataDir, extraArgs: store, environment: environment));
        try
        {
            var token = (await E2e.CheckAsync(Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", "first", .. store]))).Stdout.Trim();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!replicas.Any(HoldsScheduler))
            {
                Assert.True(DateTime.UtcNow < deadline, "no replica took the scheduler lease in 30 s");
                await Task.Delay(100);
            }

            var other = replicas.Single(r => !HoldsScheduler(r));
            var holder = replicas.Single(HoldsScheduler);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            await using var db = NpgsqlDataSource.Create(connectionString);
            var figures = new StringBuilder();
            foreach (var (name, replica) in new[] { ("without the lease", other), ("with the lease", holder) })
            {
                var clock = Stopwatch.StartNew();
                var id = await ReserveAsync(http, replica, token);
                while (!await PlacedAsync(db, id))
                {
                    Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"the request to the replica {name} was not placed in 60 s (the poll is 10 min)");
                    await Task.Delay(20);
                }

                figures.AppendLine($"replica {name}: placed {clock.ElapsedMilliseconds} ms after the POST was sent");
            }

            TestContext.Current.TestOutputHelper?.WriteLine(figures.ToString());
        }
        finally
        {
            await Task.WhenAll(replicas.Select(r => r.DisposeAsync().AsTask()));
        }
    }

    private static bool HoldsScheduler(ServerProcess replica) => replica.Log.Contains("This replica runs the scheduler worker", StringComparison.Ordinal);

    private static async Task<string> ReserveAsync(HttpClient http, ServerProcess replica, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{replica.Url}/api/v1/reservations")
        {
            Content = new StringContent("""{"gpuType":"h100","gpuCount":1,"hours":0.1,"disk":"none"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<bool> PlacedAsync(NpgsqlDataSource db, string id)
    {
        await using var command = db.CreateCommand("SELECT COUNT(*) FROM reservation_history WHERE reservation_id = $1 AND to_status = 'preparing'");
        command.Parameters.AddWithValue(id);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }
}

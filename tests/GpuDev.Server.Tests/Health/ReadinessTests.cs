using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Server.Health;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GpuDev.Server.Tests.Health;

public sealed class ReadinessTests
{
    [Fact]
    public async Task Ready_StoreAnswersAndWorkersBeat_200WithChecks()
    {
        await using var server = new ServerFixture();
        var client = server.CreateClient();

        var response = await client.GetAsync(Routes.Ready, TestContext.Current.CancellationToken);
        for (var i = 0; i < 100 && response.StatusCode != HttpStatusCode.OK; i++)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
            response = await client.GetAsync(Routes.Ready, TestContext.Current.CancellationToken);
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var ready = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReadinessDto, TestContext.Current.CancellationToken))!;
        Assert.Equal("ready", ready.Status);
        Assert.Equal(["job", "lifecycle", "scheduler", "store"], ready.Checks.Keys.Order(StringComparer.Ordinal));
        Assert.All(ready.Checks.Values, v => Assert.Equal("ok", v));
    }

    [Fact]
    public async Task Ready_WorkerWithoutHeartbeat_503ProblemNamesIt()
    {
        await using var server = new ServerFixture();
        var client = server.CreateClient();
        server.Services.GetRequiredService<WorkerHeartbeats>().Expect("reaper", TimeSpan.FromSeconds(1));

        var response = await client.GetAsync(Routes.Ready, TestContext.Current.CancellationToken);
        var health = await client.GetAsync(Routes.Health, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ProblemDto, TestContext.Current.CancellationToken))!;
        Assert.Equal(ProblemCodes.NotReady, problem.Code);
        Assert.Contains("reaper (not started)", problem.Detail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public void Check_BeatOlderThanThreeIntervalsOr30Seconds_IsStale()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
        var heartbeats = new WorkerHeartbeats(time, Options.Create(new ServerOptions { PollInterval = TimeSpan.FromSeconds(1) }));
        heartbeats.Expect("slow", TimeSpan.FromSeconds(20));
        foreach (var worker in new[] { "job", "lifecycle", "scheduler", "slow" })
        {
            heartbeats.Beat(worker);
        }

        time.Advance(TimeSpan.FromSeconds(30));
        var at30 = heartbeats.Check();
        time.Advance(TimeSpan.FromSeconds(1));
        var at31 = heartbeats.Check();
        time.Advance(TimeSpan.FromSeconds(30));
        var at61 = heartbeats.Check();

        Assert.All(at30, c => Assert.True(c.Live, c.Worker));
        Assert.Equal(["slow"], at31.Where(c => c.Live).Select(c => c.Worker));
        Assert.DoesNotContain(at61, c => c.Live);
        Assert.Equal("no heartbeat for 61 s (stale after 60 s)", at61.Single(c => c.Worker == "slow").Text);
    }

    [Fact]
    public async Task Ready_StoreFails_503NamesTheKindOfFailureOnlyNotItsMessage()
    {
        var store = System.Reflection.DispatchProxy.Create<GpuDev.Core.Storage.IReservationStore, FailingStore>();
        var heartbeats = new GpuDev.Server.Health.WorkerHeartbeats(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(), Microsoft.Extensions.Options.Options.Create(new GpuDev.Server.Hosting.ServerOptions()));

        var result = await GpuDev.Server.Health.ReadinessApi.ReadyAsync(store, heartbeats, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, CancellationToken.None);

        var problem = Assert.IsType<Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult>(result);
        Assert.Equal(503, problem.StatusCode);
        Assert.Contains("store (failed (InvalidOperationException); see the server log)", problem.ProblemDetails.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("db.internal", problem.ProblemDetails.Detail, StringComparison.Ordinal);
    }

    /// <summary>A store whose every call fails with a message that must not reach an unauthenticated caller.</summary>
    public class FailingStore : System.Reflection.DispatchProxy
    {
        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args) =>
            throw new InvalidOperationException("connection to db.internal:5432 as gpudev failed");
    }
}

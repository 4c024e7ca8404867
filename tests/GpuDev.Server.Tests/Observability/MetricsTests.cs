using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using GpuDev.Contracts;

namespace GpuDev.Server.Tests.Observability;

/// <summary>Runs alone: OpenTelemetry exports every live meter named GpuDev.Server in the process, so servers of tests
/// running in parallel would add their gauges to this test's scrape (one server per process in production).</summary>
[Collection(MetricsCollection.Name)]
public sealed partial class MetricsTests
{
    /// <summary>The value of the sample whose name is <paramref name="name"/> and whose labels include every one of <paramref name="labels"/>.</summary>
    private static double? Sample(string scrape, string name, params string[] labels)
    {
        foreach (Match m in SampleLine().Matches(scrape))
        {
            if (m.Groups["name"].Value == name && labels.All(l => m.Groups["labels"].Value.Contains(l, StringComparison.Ordinal)))
            {
                return double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{(?<labels>[^}]*)\})? (?<value>[-+0-9.eE]+|NaN|\+Inf)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();

    private static async Task<string> ScrapeAsync(HttpClient client)
    {
        var response = await client.GetAsync(Routes.Metrics, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Scrape_BeforeAndAfterReserving_QueueAndGpuGaugesMove()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var scraper = server.CreateClient();

        var before = await ScrapeAsync(scraper);
        var whole = await (await alice.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 8, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, TestContext.Current.CancellationToken);
        await ServerFixture.WaitForStatusAsync(alice, whole!.Id, "active");
        var waiting = await (await alice.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, TestContext.Current.CancellationToken);
        await ServerFixture.WaitForStatusAsync(alice, waiting!.Id, "queued");
        server.Time.Advance(TimeSpan.FromSeconds(90));
        var after = await ScrapeAsync(scraper);

        Assert.Equal(8, Sample(before, "gpudev_gpus", "gpu_type=\"h100\"", "state=\"free\""));
        Assert.Equal(0, Sample(before, "gpudev_gpus", "gpu_type=\"h100\"", "state=\"allocated\""));
        Assert.Equal(0, Sample(before, "gpudev_queue_length", "gpu_type=\"h100\""));
        Assert.Equal(0, Sample(before, "gpudev_queue_oldest_wait_seconds", "gpu_type=\"h100\""));
        Assert.Null(Sample(before, "gpudev_reservations", "status=\"active\""));

        Assert.Equal(0, Sample(after, "gpudev_gpus", "gpu_type=\"h100\"", "state=\"free\""));
        Assert.Equal(8, Sample(after, "gpudev_gpus", "gpu_type=\"h100\"", "state=\"allocated\""));
        Assert.Equal(1, Sample(after, "gpudev_queue_length", "gpu_type=\"h100\""));
        Assert.Equal(90, Sample(after, "gpudev_queue_oldest_wait_seconds", "gpu_type=\"h100\""));
        Assert.Equal(1, Sample(after, "gpudev_reservations", "status=\"active\"", "gpu_type=\"h100\""));
        Assert.Equal(1, Sample(after, "gpudev_reservations", "status=\"queued\"", "gpu_type=\"h100\""));
        Assert.True(Sample(after, "gpudev_job_duration_seconds_count", "kind=\"provision\"", "outcome=\"done\"") >= 1, after);
        Assert.True(Sample(after, "http_server_request_duration_seconds_count", "http_route=\"/api/v1/reservations/\"") >= 2, after);
    }

    [Fact]
    public async Task Scrape_ProviderFailsToBuild_CountsProviderErrorAndFailedJob()
    {
        await using var server = new ServerFixture(new Dictionary<string, string> { ["Server:MaxProvisionAttempts"] = "1" });
        server.Provider.NextStatus = new GpuDev.Core.Compute.EnvironmentStatus(GpuDev.Core.Compute.EnvironmentState.Failed, null, "image pull failed");
        var alice = await server.ClientForAsync("alice");
        var created = await (await alice.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken)).Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, TestContext.Current.CancellationToken);
        await ServerFixture.WaitForStatusAsync(alice, created!.Id, "failed");

        var scrape = await ScrapeAsync(server.CreateClient());

        Assert.Equal(1, Sample(scrape, "gpudev_provider_errors_total", "operation=\"ensure_environment\"", "provider=\"fake\""));
        Assert.Equal(1, Sample(scrape, "gpudev_reservations", "status=\"failed\"", "gpu_type=\"h100\""));
    }

    [Fact]
    public async Task Scrape_OutsideAllowFrom_403ProblemAndAudited()
    {
        await using var server = new ServerFixture(new Dictionary<string, string> { ["Metrics:AllowFrom:0"] = "10.0.0.0/8" });
        var admin = await server.ClientForAsync("root", admin: true);
        var scraper = server.CreateClient();
        using var fromInside = new HttpRequestMessage(HttpMethod.Get, Routes.Metrics);
        fromInside.Headers.Add(ServerFixture.RemoteAddressHeader, "10.1.2.3");

        var outside = await scraper.GetAsync(Routes.Metrics, TestContext.Current.CancellationToken);
        var inside = await scraper.SendAsync(fromInside, TestContext.Current.CancellationToken);
        var audit = await admin.GetFromJsonAsync(Routes.Audit + "?action=GET%20/metrics", GpuDevJsonContext.Default.ListAuditEntryDto, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, outside.StatusCode);
        Assert.Equal("application/problem+json", outside.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, inside.StatusCode);
        var refused = Assert.Single(audit!);
        Assert.Equal(("anonymous", 403, "127.0.0.1"), (refused.Actor, refused.Outcome, refused.RemoteAddress));
    }
}

using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Server.Hosting;
using GpuDev.Server.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Tests.Observability;

/// <summary>The server's log stays small: successful requests write nothing, a failed one exactly one line, state changes
/// stay at Information; <c>--log-format json</c> switches the console to JSON, anything else is refused at start-up.</summary>
public sealed class RequestLogTests
{
    [Fact]
    public async Task SuccessfulRequests_NoLines_FailedRequest_ExactlyOneLine_StateChangesKept()
    {
        var logs = new LogCapture();
        await using var server = new ServerFixture { Logs = logs };
        var client = await server.ClientForAsync("alice");

        var created = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 }, GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken);
        var id = (await created.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, TestContext.Current.CancellationToken))!.Id;
        await ServerFixture.WaitForStatusAsync(client, id, "active");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(Routes.Reservations, TestContext.Current.CancellationToken)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(Routes.Health, TestContext.Current.CancellationToken)).StatusCode);
        var quiet = RequestLines(logs);
        var missing = await client.GetAsync(Routes.Reservation("feedface"), TestContext.Current.CancellationToken);
        var anonymous = await server.CreateClient().GetAsync(Routes.Status, TestContext.Current.CancellationToken);

        // The line is written when the pipeline returns, which may be just after the client has the response.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (RequestLines(logs).Count < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Empty(quiet);
        Assert.Equal(
            [(LogLevel.Warning, "GET /api/v1/reservations/feedface -> 404 (0 ms)"), (LogLevel.Warning, "GET /api/v1/status -> 401 (0 ms)")],
            RequestLines(logs).Select(e => (e.Level, e.Message)));
        Assert.DoesNotContain(logs.Entries, e => e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) && e.Level <= LogLevel.Information);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Information && e.Category == "GpuDev.Server.Reservations.ReservationService" && e.Message.StartsWith($"Reservation {id} created", StringComparison.Ordinal));
    }

    private static List<LogCapture.Entry> RequestLines(LogCapture logs) =>
        [.. logs.Entries.Where(e => e.Category == RequestLogMiddleware.Category && e.Level >= LogLevel.Information)];

    [Fact]
    public void LogFormat_Json_SwitchesTheConsoleFormatter_UnknownIsRefusedWithTheValidValues()
    {
        var dir = Directory.CreateTempSubdirectory("gpu-dev-options-").FullName;
        try
        {
            using var json = ServerApp.Build(["--log-format", "json", "--data-dir", dir]);
            using var plain = ServerApp.Build(["--data-dir", dir]);
            var e = Assert.Throws<OptionsValidationException>(() => ServerApp.Build(["--log-format", "xml", "--data-dir", dir]));

            Assert.Equal("json", json.Services.GetRequiredService<IOptions<ConsoleLoggerOptions>>().Value.FormatterName);
            Assert.NotEqual("json", plain.Services.GetRequiredService<IOptions<ConsoleLoggerOptions>>().Value.FormatterName);
            Assert.Equal(["Logging:Format (--log-format) 'xml' is not valid; valid: simple, json."], e.Failures);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Defaults_WithoutAnyAppSettings_AspNetCoreRequestsAtWarning_GpuDevAtInformation()
    {
        var dir = Directory.CreateTempSubdirectory("gpu-dev-options-").FullName;
        try
        {
            using var app = ServerApp.Build(["--data-dir", dir, "--contentRoot", dir], besideBinary: null);
            var loggers = app.Services.GetRequiredService<ILoggerFactory>();

            Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Information));
            Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Routing.EndpointMiddleware").IsEnabled(LogLevel.Information));
            Assert.True(loggers.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Warning));
            Assert.True(loggers.CreateLogger("GpuDev.Server.Processing.LifecycleWorker").IsEnabled(LogLevel.Information));
            Assert.True(loggers.CreateLogger(RequestLogMiddleware.Category).IsEnabled(LogLevel.Warning));
            Assert.False(loggers.CreateLogger(RequestLogMiddleware.Category).IsEnabled(LogLevel.Debug));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

using System.Globalization;

namespace GpuDev.Server.Observability;

/// <summary>One line per failed request, e.g. <c>GET /api/v1/reservations/x -> 404 (12 ms)</c>: 5xx at Error, 4xx at
/// Warning, the rest at Debug (category <c>GpuDev.Server.Requests</c>; <c>Logging:LogLevel:GpuDev.Server.Requests=Debug</c>
/// gives a line for every request). ASP.NET Core's own request logs stay at Warning, so a quiet server writes nothing per
/// request. Runs outermost, so it sees the status the exception handler answered. A throttled address's further attempts
/// (already accounted for once per window) and requests the client gave up on are not logged as failures.</summary>
internal sealed partial class RequestLogMiddleware(RequestDelegate next, TimeProvider timeProvider, ILoggerFactory loggers)
{
    public const string Category = "GpuDev.Server.Requests";

    private readonly ILogger _logger = loggers.CreateLogger(Category);

    public async Task InvokeAsync(HttpContext http)
    {
        var started = timeProvider.GetTimestamp();
        var status = StatusCodes.Status500InternalServerError;
        try
        {
            await next(http);
            status = http.Response.StatusCode;
        }
        finally
        {
            var level = status switch
            {
                _ when http.RequestAborted.IsCancellationRequested => LogLevel.Debug,
                >= 500 => LogLevel.Error,
                >= 400 => LogLevel.Warning,
                _ => LogLevel.Debug,
            };
            if (_logger.IsEnabled(level) && !http.Items.ContainsKey(Audit.AuditMiddleware.SkipItem))
            {
                var ms = timeProvider.GetElapsedTime(started).TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture);
                LogRequest(_logger, level, http.Request.Method, http.Request.Path.ToUriComponent(), status, ms);
            }
        }
    }

    [LoggerMessage(EventId = 2500, Message = "{Method} {Path} -> {Status} ({Milliseconds} ms)")]
    private static partial void LogRequest(ILogger logger, LogLevel level, string method, string path, int status, string milliseconds);
}

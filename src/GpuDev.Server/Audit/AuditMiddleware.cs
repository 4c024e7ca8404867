using System.Net;
using GpuDev.Core.Audit;
using GpuDev.Server.Identity;

namespace GpuDev.Server.Audit;

/// <summary>Records every state-changing request and every refused (4xx) request to <c>/api</c> and <c>/metrics</c>, and
/// every sign-in and sign-out of the dashboard (<c>/ui/signin…</c>, <c>/ui/signout</c>):
/// who (the user, or <c>anonymous</c> before authentication), what (method + route pattern + target), the status
/// answered, when and from where. Runs outside authentication, so 401s are recorded too. A failure to record is
/// logged and never fails the request.</summary>
internal sealed partial class AuditMiddleware(RequestDelegate next, IAuditLog audit, TimeProvider timeProvider, ILogger<AuditMiddleware> logger)
{
    /// <summary>Item a handler sets to the full id it resolved (e.g. from an id prefix).</summary>
    public const string TargetItem = "gpu-dev.audit.target";

    /// <summary>Item the ProblemDetails writer sets to the refusal's detail.</summary>
    public const string DetailItem = "gpu-dev.audit.detail";

    /// <summary>Item a handler sets on a read that is recorded all the same (the dashboard's sign-in callback, a GET).</summary>
    public const string RecordItem = "gpu-dev.audit.record";

    /// <summary>Item set on a refusal already accounted for by an earlier row (a throttled address's further attempts).</summary>
    public const string SkipItem = "gpu-dev.audit.skip";

    public async Task InvokeAsync(HttpContext http)
    {
        if (!IsAudited(http.Request.Path))
        {
            await next(http);
            return;
        }

        var at = timeProvider.GetUtcNow();
        try
        {
            await next(http);
        }
        catch (BadHttpRequestException bad)
        {
            // Refused before the handler ran (unreadable body, too large): the exception handler answers it further out.
            await RecordAsync(http, at, bad.StatusCode, bad.Message);
            throw;
        }

        var status = http.Response.StatusCode;
        if ((IsRead(http.Request.Method) && status is < 400 or >= 500 && !http.Items.ContainsKey(RecordItem)) || http.Items.ContainsKey(SkipItem))
        {
            return;
        }

        await RecordAsync(http, at, status, http.Items[DetailItem] as string);
    }

    private async Task RecordAsync(HttpContext http, DateTimeOffset at, int status, string? detail)
    {

        var endpoint = http.GetEndpoint() as RouteEndpoint;
        var route = endpoint?.RoutePattern.RawText ?? http.Request.Path.Value ?? "/";
        var target = http.Items[TargetItem] as string
            ?? (http.GetRouteValue("id") ?? http.GetRouteValue("name"))?.ToString();
        var actor = (http.Items[CurrentUser.ItemKey] as CurrentUser)?.User.Name ?? "anonymous";
        var entry = new AuditEntry(at, actor, $"{http.Request.Method} {route}", target, status, Truncate(detail), RemoteAddress(http));
        try
        {
            await audit.RecordAsync(entry, CancellationToken.None);
        }
        catch (Exception e)
        {
            LogRecordFailed(logger, entry.Action, entry.Actor, e);
        }
    }

    internal static bool IsAudited(PathString path) =>
        path.StartsWithSegments("/api", StringComparison.Ordinal) || path.StartsWithSegments("/metrics", StringComparison.Ordinal)
        || path.StartsWithSegments(Ui.UiApi.SignInPath, StringComparison.Ordinal) || path.StartsWithSegments(Ui.UiApi.SignOutPath, StringComparison.Ordinal);

    internal static string? RemoteAddress(HttpContext http) => http.Connection.RemoteIpAddress is { } ip
        ? (ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString()
        : null;

    private static bool IsRead(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method);

    private static string? Truncate(string? s) => s is { Length: > 500 } ? s[..500] : s;

    [LoggerMessage(EventId = 2200, Level = LogLevel.Error, Message = "Could not record the audit entry for {Action} by {Actor}")]
    private static partial void LogRecordFailed(ILogger logger, string action, string actor, Exception exception);
}

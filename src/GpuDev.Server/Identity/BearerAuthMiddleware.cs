using System.Globalization;
using GpuDev.Server.Api;

namespace GpuDev.Server.Identity;

/// <summary>Every <c>/api/v1</c> request needs <c>Authorization: Bearer &lt;token&gt;</c> with a token the store
/// knows; otherwise 401 ProblemDetails, and the refusal is logged. Failed attempts are counted per remote address:
/// over the limit, a failed attempt gets 429 with <c>Retry-After</c> (see <see cref="AuthFailureLimiter"/>) and only the
/// first of those in a window is audited; a valid token always passes.</summary>
/// <remarks>Timing: the presented token is never compared with a stored secret. It is hashed (SHA-256) and the hash
/// is looked up by an index in the store, so the time taken depends on the hash of the guess, not on how many of its
/// characters match a real token; learning where a hash lands in an index reveals nothing usable about a token.</remarks>
internal sealed partial class BearerAuthMiddleware(RequestDelegate next, AuthFailureLimiter limiter, ILogger<BearerAuthMiddleware> logger)
{
    private const string Scheme = "Bearer ";

    public async Task InvokeAsync(HttpContext http, TokenCache tokens)
    {
        var address = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var header = http.Request.Headers.Authorization.ToString();
        var presented = header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) && header.Length > Scheme.Length && header.Length <= 512;
        var user = presented ? await tokens.FindAsync(Tokens.Hash(header[Scheme.Length..].Trim()), http.RequestAborted) : null;
        if (user is not null)
        {
            // A valid token is never throttled, whatever others at the same address tried.
            http.Items[CurrentUser.ItemKey] = new CurrentUser(user);
            await next(http);
            return;
        }

        if (limiter.RetryAfter(address) is { } wait)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            if (!limiter.FirstThrottled(address))
            {
                http.Items[Audit.AuditMiddleware.SkipItem] = true;
            }

            LogThrottled(logger, http.Request.Path, address, seconds);
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await Problems.TooManyRequests($"Too many failed authentications from {address}; try again in {seconds} s.").ExecuteAsync(http);
            return;
        }

        limiter.RecordFailure(address);
        LogRejected(logger, http.Request.Path, presented ? "unknown token" : "no bearer token");
        await (presented
            ? Problems.Unauthorized("The token is not valid.")
            : Problems.Unauthorized("Send 'Authorization: Bearer <token>'; an admin creates tokens with 'gpu-dev-server user add'.")).ExecuteAsync(http);
    }

    [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "Refused {Path}: {Why}")]
    private static partial void LogRejected(ILogger logger, string path, string why);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Warning, Message = "Throttled {Path} from {Address}: too many failed authentications; retry in {Seconds} s")]
    private static partial void LogThrottled(ILogger logger, string path, string address, int seconds);
}

using System.Globalization;
using GpuDev.Core.Storage;
using GpuDev.Server.Api;

namespace GpuDev.Server.Identity;

/// <summary>Every <c>/api/v1</c> request needs <c>Authorization: Bearer &lt;token&gt;</c> with a token the store
/// knows; otherwise 401 ProblemDetails, and the refusal is logged. Failed attempts are counted per remote address:
/// over the limit, 429 with <c>Retry-After</c> (see <see cref="AuthFailureLimiter"/>).</summary>
/// <remarks>Timing: the presented token is never compared with a stored secret. It is hashed (SHA-256) and the hash
/// is looked up by an index in the store, so the time taken depends on the hash of the guess, not on how many of its
/// characters match a real token; learning where a hash lands in an index reveals nothing usable about a token.</remarks>
internal sealed partial class BearerAuthMiddleware(RequestDelegate next, AuthFailureLimiter limiter, ILogger<BearerAuthMiddleware> logger)
{
    private const string Scheme = "Bearer ";

    public async Task InvokeAsync(HttpContext http, IReservationStore store)
    {
        var address = http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (limiter.RetryAfter(address) is { } wait)
        {
            var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
            LogThrottled(logger, http.Request.Path, address, seconds);
            http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await Problems.TooManyRequests($"Too many failed authentications from {address}; try again in {seconds} s.").ExecuteAsync(http);
            return;
        }

        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || header.Length <= Scheme.Length || header.Length > 512)
        {
            limiter.RecordFailure(address);
            LogRejected(logger, http.Request.Path, "no bearer token");
            await Problems.Unauthorized("Send 'Authorization: Bearer <token>'; an admin creates tokens with 'gpu-dev-server user add'.").ExecuteAsync(http);
            return;
        }

        var user = await store.FindUserByTokenHashAsync(Tokens.Hash(header[Scheme.Length..].Trim()), http.RequestAborted);
        if (user is null)
        {
            limiter.RecordFailure(address);
            LogRejected(logger, http.Request.Path, "unknown token");
            await Problems.Unauthorized("The token is not valid.").ExecuteAsync(http);
            return;
        }

        http.Items[CurrentUser.ItemKey] = new CurrentUser(user);
        await next(http);
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Warning, Message = "Refused {Path}: {Why}")]
    private static partial void LogRejected(ILogger logger, string path, string why);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Throttled {Path} from {Address}: too many failed authentications; retry in {Seconds} s")]
    private static partial void LogThrottled(ILogger logger, string path, string address, int seconds);
}

using GpuDev.Core.Identity;
using GpuDev.Server.Api;

namespace GpuDev.Server.Identity;

/// <summary>Every <c>/api/v1</c> request needs <c>Authorization: Bearer &lt;token&gt;</c> with a token the store
/// knows; otherwise 401 ProblemDetails, and the refusal is logged. Failed attempts are counted per remote address:
/// over the limit, a failed attempt gets 429 with <c>Retry-After</c> (see <see cref="AuthFailureLimiter"/>) and only the
/// first of those in a window is audited; a valid token always passes. Without an <c>Authorization</c> header the
/// dashboard's session cookie (<see cref="SessionCookie"/>, the same token) is accepted too, for <c>/api/v1</c> and the
/// <c>/ui</c> pages, with <see cref="SameOriginHeader"/> required on changes; a <c>/ui</c> page without a usable session
/// redirects to the sign-in form instead of answering 401.</summary>
/// <remarks>Timing: the presented token is never compared with a stored secret. It is hashed (SHA-256) and the hash
/// is looked up by an index in the store, so the time taken depends on the hash of the guess, not on how many of its
/// characters match a real token; learning where a hash lands in an index reveals nothing usable about a token.</remarks>
internal sealed partial class BearerAuthMiddleware(RequestDelegate next, AuthFailureLimiter limiter, ILogger<BearerAuthMiddleware> logger)
{
    private const string Scheme = "Bearer ";

    /// <summary>The dashboard's session cookie (<see cref="Ui.UiApi"/>): the same token as a bearer token, set by the
    /// sign-in form. Used only where no <c>Authorization</c> header is sent.</summary>
    public const string SessionCookie = "gpu-dev-session";

    /// <summary>A request authenticated by <see cref="SessionCookie"/> alone that changes something (POST, PUT, PATCH,
    /// DELETE) must carry this header: a cross-site form cannot send it, and a cross-site script may not without a CORS
    /// preflight the server never grants, so a page elsewhere cannot act with the user's cookie (CSRF).</summary>
    public const string SameOriginHeader = "X-GpuDev-UI";

    /// <summary>The token and its owner for a presented token string, as every request is checked (null: no such token);
    /// whether it lets its owner in now is <see cref="TokenCache.Authenticates"/>.</summary>
    internal static async Task<TokenMatch?> FindAsync(TokenCache tokens, string? token, CancellationToken cancellationToken) =>
        token is { Length: > 0 and <= 512 } && token.Trim() is { Length: > 0 } trimmed
            ? await tokens.FindAsync(Tokens.Hash(trimmed), cancellationToken)
            : null;

    public async Task InvokeAsync(HttpContext http, TokenCache tokens, TimeProvider timeProvider)
    {
        var address = AuthFailureLimiter.Address(http);
        var header = http.Request.Headers.Authorization.ToString();
        var page = Ui.UiApi.IsPage(http.Request.Path);
        string? token = null;
        var byCookie = false;
        if (header.Length > 0)
        {
            token = header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) && header.Length > Scheme.Length && header.Length <= 512 ? header[Scheme.Length..] : null;
        }
        else if (http.Request.Cookies.TryGetValue(SessionCookie, out var cookie) && cookie is { Length: > 0 })
        {
            (token, byCookie) = (cookie, true);
        }

        var presented = token is not null;
        var match = await FindAsync(tokens, token, http.RequestAborted);
        var now = timeProvider.GetUtcNow();
        if (match is not null && TokenCache.Authenticates(match, now))
        {
            if (byCookie && !HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method) && !HttpMethods.IsOptions(http.Request.Method)
                && http.Request.Headers[SameOriginHeader] != "1")
            {
                LogRejected(logger, http.Request.Path, "session cookie without " + SameOriginHeader);
                await Problems.Forbidden($"A request that changes something and is signed in by the dashboard's cookie must send '{SameOriginHeader}: 1' (or 'Authorization: Bearer <token>').").ExecuteAsync(http);
                return;
            }

            // A valid token is never throttled, whatever others at the same address tried.
            http.Items[CurrentUser.ItemKey] = new CurrentUser(match.User) { Token = match.Token };
            await next(http);
            return;
        }

        if (page && (!presented || match is not null))
        {
            // A dashboard page without a usable session: to the sign-in form (a stale cookie is dropped).
            if (byCookie)
            {
                http.Response.Cookies.Delete(SessionCookie, new CookieOptions { Path = "/" });
            }

            http.Response.Redirect(Ui.UiApi.SignInPath);
            return;
        }

        if (match is not null)
        {
            // A real token that no longer lets its owner in: say why and what to do. Not counted as a guess (it was issued
            // to someone; revoking or disabling should not also lock out the address).
            var (why, refusal) = Refusal(match, now);
            LogRejected(logger, http.Request.Path, why);
            await refusal.ExecuteAsync(http);
            return;
        }

        if (limiter.Throttle(http) is { Seconds: var seconds })
        {
            LogThrottled(logger, http.Request.Path, address, seconds);
            await Problems.TooManyRequests($"Too many failed authentications from {address}; try again in {seconds} s.").ExecuteAsync(http);
            return;
        }

        limiter.RecordFailure(address);
        LogRejected(logger, http.Request.Path, presented ? "unknown token" : "no bearer token");
        if (page)
        {
            http.Response.Cookies.Delete(SessionCookie, new CookieOptions { Path = "/" });
            http.Response.Redirect(Ui.UiApi.SignInPath);
            return;
        }

        await (presented
            ? Problems.Unauthorized("The token is not valid; log in again with 'gpu-dev login' (or ask an admin for a token).")
            : Problems.Unauthorized("Send 'Authorization: Bearer <token>'; sign in with 'gpu-dev login', or an admin creates tokens with 'gpu-dev admin user add' / 'gpu-dev-server user add'.")).ExecuteAsync(http);
    }

    private static (string Why, IResult Refusal) Refusal(TokenMatch match, DateTimeOffset now)
    {
        var token = match.Token;
        if (match.User.DisabledAt is { } disabled)
        {
            return ("account disabled", Problems.Forbidden(
                $"The account '{match.User.Name}' was disabled by an admin at {disabled:yyyy-MM-dd HH:mm} UTC; ask an admin to enable it (gpu-dev admin user enable {match.User.Name})."));
        }

        return token.RevokedAt is { } revoked
            ? ("revoked token", Problems.Unauthorized($"The token '{token.Name}' was revoked at {revoked:yyyy-MM-dd HH:mm} UTC; log in again with 'gpu-dev login' (or ask an admin for a new token)."))
            : ("expired token", Problems.Unauthorized($"The token '{token.Name}' expired at {token.ExpiresAt:yyyy-MM-dd HH:mm} UTC; log in again with 'gpu-dev login' (or ask an admin for a new token)."));
    }

    [LoggerMessage(EventId = 1110, Level = LogLevel.Warning, Message = "Refused {Path}: {Why}")]
    private static partial void LogRejected(ILogger logger, string path, string why);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Warning, Message = "Throttled {Path} from {Address}: too many failed authentications; retry in {Seconds} s")]
    private static partial void LogThrottled(ILogger logger, string path, string address, int seconds);
}

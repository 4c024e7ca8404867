using GpuDev.Core.Storage;
using GpuDev.Server.Api;

namespace GpuDev.Server.Identity;

/// <summary>Every <c>/api/v1</c> request needs <c>Authorization: Bearer &lt;token&gt;</c> with a token the store
/// knows (looked up by its SHA-256); otherwise 401 ProblemDetails, and the refusal is logged.</summary>
internal sealed partial class BearerAuthMiddleware(RequestDelegate next, ILogger<BearerAuthMiddleware> logger)
{
    private const string Scheme = "Bearer ";

    public async Task InvokeAsync(HttpContext http, IReservationStore store)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) || header.Length <= Scheme.Length || header.Length > 512)
        {
            LogRejected(logger, http.Request.Path, "no bearer token");
            await Problems.Unauthorized("Send 'Authorization: Bearer <token>'; an admin creates tokens with 'gpu-dev-server user add'.").ExecuteAsync(http);
            return;
        }

        var user = await store.FindUserByTokenHashAsync(Tokens.Hash(header[Scheme.Length..].Trim()), http.RequestAborted);
        if (user is null)
        {
            LogRejected(logger, http.Request.Path, "unknown token");
            await Problems.Unauthorized("The token is not valid.").ExecuteAsync(http);
            return;
        }

        http.Items[CurrentUser.ItemKey] = new CurrentUser(user);
        await next(http);
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Warning, Message = "Refused {Path}: {Why}")]
    private static partial void LogRejected(ILogger logger, string path, string why);
}

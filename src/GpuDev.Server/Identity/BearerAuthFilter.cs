using GpuDev.Contracts;
using GpuDev.Core.Storage;
using GpuDev.Server.Api;

namespace GpuDev.Server.Identity;

/// <summary>Requires <c>Authorization: Bearer &lt;token&gt;</c> with a token the store knows; 401 otherwise.</summary>
internal sealed partial class BearerAuthFilter(IReservationStore store, ILogger<BearerAuthFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || header.Length <= scheme.Length || header.Length > 512)
        {
            return Problems.Unauthorized("Send 'Authorization: Bearer <token>'; an admin creates tokens with 'gpu-dev-server user add'.");
        }

        var user = await store.FindUserByTokenHashAsync(Tokens.Hash(header[scheme.Length..].Trim()), http.RequestAborted);
        if (user is null)
        {
            LogRejected(logger, http.Request.Path, http.Connection.RemoteIpAddress?.ToString());
            return Problems.Unauthorized("The token is not valid.");
        }

        http.Items[CurrentUser.ItemKey] = new CurrentUser(user);
        return await next(context);
    }

    [LoggerMessage(EventId = 1100, Level = LogLevel.Warning, Message = "Rejected an invalid token for {Path} from {Remote}")]
    private static partial void LogRejected(ILogger logger, string path, string? remote);
}

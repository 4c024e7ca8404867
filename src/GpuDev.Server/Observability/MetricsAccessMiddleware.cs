using System.Net;
using GpuDev.Contracts;
using GpuDev.Server.Api;

namespace GpuDev.Server.Observability;

/// <summary>Refuses a scrape from outside <see cref="MetricsOptions.AllowFrom"/>.</summary>
internal sealed class MetricsAccessMiddleware(RequestDelegate next, Microsoft.Extensions.Options.IOptions<MetricsOptions> options)
{
    private readonly IReadOnlyList<IPNetwork> _networks = options.Value.Networks();

    public async Task InvokeAsync(HttpContext http)
    {
        if (_networks.Count > 0)
        {
            var ip = http.Connection.RemoteIpAddress;
            ip = ip is { IsIPv4MappedToIPv6: true } ? ip.MapToIPv4() : ip;
            if (ip is null || !_networks.Any(n => n.Contains(ip)))
            {
                await Problems.Create(StatusCodes.Status403Forbidden, ProblemCodes.Forbidden, "Not allowed.",
                    $"Metrics are not served to {ip?.ToString() ?? "this caller"}; see Metrics:AllowFrom.").ExecuteAsync(http);
                return;
            }
        }

        await next(http);
    }
}

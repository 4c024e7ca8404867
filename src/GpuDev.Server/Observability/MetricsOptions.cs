using System.Net;

namespace GpuDev.Server.Observability;

/// <summary>Section "Metrics". <c>/metrics</c> is unauthenticated, like Prometheus expects; <see cref="AllowFrom"/>
/// restricts it to networks (e.g. <c>127.0.0.0/8</c>, <c>10.0.0.0/8</c>); others get 403 ProblemDetails.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>CIDR networks or single addresses allowed to scrape; empty: everybody.</summary>
    public List<string> AllowFrom { get; set; } = [];

    internal IReadOnlyList<IPNetwork> Networks() => [.. AllowFrom.Where(a => !string.IsNullOrWhiteSpace(a)).Select(a =>
        a.Contains('/', StringComparison.Ordinal) ? IPNetwork.Parse(a.Trim()) : new IPNetwork(IPAddress.Parse(a.Trim()), IPAddress.Parse(a.Trim()).GetAddressBytes().Length * 8))];
}

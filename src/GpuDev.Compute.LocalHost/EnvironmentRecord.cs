namespace GpuDev.Compute.LocalHost;

/// <summary>What the provider keeps about one environment in <c>&lt;StateDir&gt;/envs/&lt;id&gt;/env.json</c>.</summary>
internal sealed record EnvironmentRecord(string ReservationId, string Owner, int Port, string User, DateTimeOffset CreatedAt);

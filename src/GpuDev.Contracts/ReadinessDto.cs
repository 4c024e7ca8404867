namespace GpuDev.Contracts;

/// <summary><c>GET /readyz</c> when ready: <c>{"status":"ready","checks":{"store":"ok",...}}</c>.</summary>
public sealed record ReadinessDto(string Status, Dictionary<string, string> Checks);

namespace GpuDev.Contracts;

/// <summary>One audit trail entry (<c>GET /api/v1/admin/audit</c>, <c>gpu-dev admin audit --json</c>).</summary>
public sealed record AuditEntryDto
{
    public long Id { get; init; }

    public DateTimeOffset At { get; init; }

    /// <summary>User name, <c>anonymous</c>, or <c>system:&lt;worker&gt;</c>.</summary>
    public required string Actor { get; init; }

    /// <summary><c>METHOD /route/{pattern}</c> for requests, <c>transition from-&gt;to</c> for workers.</summary>
    public required string Action { get; init; }

    public string? Target { get; init; }

    /// <summary>HTTP status answered (200 for a worker's transition).</summary>
    public int Outcome { get; init; }

    public string? Detail { get; init; }

    /// <summary>The caller's IP address (null for workers).</summary>
    public string? RemoteAddress { get; init; }
}

namespace GpuDev.Core.Audit;

/// <summary>One line of the audit trail: who did what to which target, when, from where, and how it ended.</summary>
/// <param name="At">When it happened (UTC).</param>
/// <param name="Actor">The user name, <c>anonymous</c> when the caller is not known, or <c>system:&lt;worker&gt;</c>.</param>
/// <param name="Action">For API requests the method and route pattern (<c>DELETE /api/v1/reservations/{id}</c>);
/// for workers <c>transition &lt;from&gt;-&gt;&lt;to&gt;</c>.</param>
/// <param name="Target">The reservation id (or disk name) acted on, when there is one.</param>
/// <param name="Outcome">The HTTP status code answered (200 for a worker's transition).</param>
/// <param name="Detail">Free text: the refusal's reason or the transition's reason.</param>
/// <param name="RemoteAddress">The caller's IP address; null for workers.</param>
public sealed record AuditEntry(DateTimeOffset At, string Actor, string Action, string? Target, int Outcome, string? Detail, string? RemoteAddress)
{
    /// <summary>The store's sequence number (0 before it is recorded).</summary>
    public long Id { get; init; }
}

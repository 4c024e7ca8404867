namespace GpuDev.Core.Audit;

/// <summary>Filter for reading the audit trail, newest first. Null fields do not filter.</summary>
/// <param name="Actor">Exact actor (user name or <c>system:&lt;worker&gt;</c>).</param>
/// <param name="Target">Exact target, or a prefix of it (a reservation id prefix).</param>
/// <param name="Action">Prefix of the action, e.g. <c>DELETE</c> or <c>transition</c>.</param>
/// <param name="Since">Only entries at or after this time.</param>
/// <param name="Limit">At most this many entries.</param>
public sealed record AuditQuery(string? Actor = null, string? Target = null, string? Action = null, DateTimeOffset? Since = null, int Limit = 100);

namespace GpuDev.Server.Audit;

/// <summary>Section "Audit".</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    /// <summary>Entries older than this many days are purged by the lifecycle worker.</summary>
    public int RetentionDays { get; set; } = 90;
}

namespace GpuDev.Server.Disks;

/// <summary>Section "Disks".</summary>
public sealed class DiskOptions
{
    public const string Section = "Disks";

    /// <summary>Quota reported per disk (the seed: 100 GB).</summary>
    public long QuotaBytes { get; set; } = 100L * 1024 * 1024 * 1024;

    /// <summary>How long a deleted disk's snapshots are kept before they are purged.</summary>
    public TimeSpan PurgeAfter { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Snapshots kept per disk; older ones are deleted after each new snapshot.</summary>
    public int KeepSnapshots { get; set; } = 10;
}

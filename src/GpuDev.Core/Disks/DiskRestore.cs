namespace GpuDev.Core.Disks;

/// <summary>A restore under way: the disk, the server process that began it and when.</summary>
public sealed record DiskRestore(string DiskId, string? Owner, DateTimeOffset? StartedAt);

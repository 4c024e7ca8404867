namespace GpuDev.Core.Disks;

/// <summary>A consistent copy of a disk taken when a reservation using it ended.</summary>
public sealed record DiskSnapshot(string Id, string DiskId, DateTimeOffset CreatedAt, long SizeBytes, int FileCount, string? ReservationId);

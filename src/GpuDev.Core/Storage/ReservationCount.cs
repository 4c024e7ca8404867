namespace GpuDev.Core.Storage;

/// <summary>How many reservations are in one status on one GPU type (wire status name).</summary>
public sealed record ReservationCount(string Status, string GpuType, long Count);

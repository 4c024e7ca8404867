namespace GpuDev.Core.Storage;

/// <summary>One GPU held by one reservation. The store guarantees (node, index) is unique.</summary>
public sealed record GpuAllocation(string Node, int GpuIndex, string ReservationId);

namespace GpuDev.Core.Storage;

/// <summary>A GPU asked for is already held by another reservation; nothing was written.</summary>
public sealed class AllocationConflictException(string message) : Exception(message);

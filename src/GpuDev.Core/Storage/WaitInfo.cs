namespace GpuDev.Core.Storage;

/// <summary>Why a request waits and when it may start, as the scheduler last computed it.</summary>
public sealed record WaitInfo(string ReservationId, int? QueuePosition, DateTimeOffset? EstimatedStartAt, string? Reason);

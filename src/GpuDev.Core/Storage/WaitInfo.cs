namespace GpuDev.Core.Storage;

/// <summary>Why a request waits and when it may start, as the scheduler last computed it: the guaranteed start
/// (<paramref name="EstimatedStartAt"/>) and the likely one (<paramref name="LikelyStartAt"/>, from how reservations
/// usually end), and the nodes the guaranteed start is booked on (<paramref name="PlannedNodes"/>: the next pass holds that
/// slot for the request, so the guaranteed start never moves later).</summary>
public sealed record WaitInfo(string ReservationId, int? QueuePosition, DateTimeOffset? EstimatedStartAt, string? Reason,
    DateTimeOffset? LikelyStartAt = null, IReadOnlyList<string>? PlannedNodes = null);

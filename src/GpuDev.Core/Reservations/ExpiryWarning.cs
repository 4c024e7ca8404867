namespace GpuDev.Core.Reservations;

/// <summary>An expiry warning: <see cref="MinutesBefore"/> is its threshold (30, 15 or 5). A null
/// <see cref="Message"/> marks a threshold skipped because a smaller one was due at the same time.</summary>
public sealed record ExpiryWarning(int MinutesBefore, DateTimeOffset At, string? Message, DateTimeOffset? DeliveredAt);

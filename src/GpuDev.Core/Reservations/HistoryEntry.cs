namespace GpuDev.Core.Reservations;

/// <summary>One status change of a reservation. <see cref="From"/> is null for the creation entry.</summary>
public sealed record HistoryEntry(DateTimeOffset At, ReservationStatus? From, ReservationStatus To, string Reason);

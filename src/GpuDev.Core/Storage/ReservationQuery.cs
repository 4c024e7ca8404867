using GpuDev.Core.Reservations;

namespace GpuDev.Core.Storage;

/// <summary>Filter for listing reservations. Null fields do not filter.</summary>
public sealed record ReservationQuery(string? UserId = null, IReadOnlyList<ReservationStatus>? Statuses = null, string? IdPrefix = null);

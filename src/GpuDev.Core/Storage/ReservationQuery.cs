using GpuDev.Core.Reservations;

namespace GpuDev.Core.Storage;

/// <summary>Filter for listing reservations. Null fields do not filter.</summary>
/// <param name="UserId">Owner filter.</param>
/// <param name="Statuses">Status filter.</param>
/// <param name="IdPrefix">Id prefix filter.</param>
/// <param name="OrAddedGithubUser">With <paramref name="UserId"/>: also reservations this GitHub user was added to.</param>
/// <param name="LiveOrEndedAfter">Only reservations still live, or ended after this time: those that existed at some point
/// since then (the usage report's window), without reading the whole history.</param>
public sealed record ReservationQuery(
    string? UserId = null, IReadOnlyList<ReservationStatus>? Statuses = null, string? IdPrefix = null, string? OrAddedGithubUser = null,
    DateTimeOffset? LiveOrEndedAfter = null);

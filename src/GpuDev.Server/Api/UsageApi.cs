using GpuDev.Contracts;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Server.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GpuDev.Server.Api;

/// <summary><c>GET /api/v1/usage?user=&amp;since=</c> (<c>gpu-dev usage</c>): GPU-hours booked and used per user and GPU
/// type in the window from <c>since</c> (default 7 days ago) to now, computed with <see cref="GpuHours"/> as the quota is
/// (definitions on <see cref="UsageReportDto"/>). Anyone sees their own usage; only admins see another user's, or
/// everybody's (no <c>user</c>, or <c>user=all</c>).</summary>
public static class UsageApi
{
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromDays(7);

    public static RouteGroupBuilder MapUsageApi(this RouteGroupBuilder api)
    {
        api.MapGet("/usage", GetAsync).WithName("Usage").WithTags("Reservations");
        return api;
    }

    internal static async Task<Results<Ok<UsageReportDto>, ProblemHttpResult>> GetAsync(
        CurrentUser caller, string? user, string? since, IReservationStore store, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var from = now - DefaultWindow;
        if (since is not null)
        {
            if (!SinceParameter.TryParse(since, now, out from))
            {
                return Problems.BadRequest($"since '{Truncate(since)}' is not valid; {SinceParameter.Rule}.", "since");
            }

            if (from > now)
            {
                return Problems.BadRequest($"since {Rfc3339(from)} is in the future (the server's time is {Rfc3339(now)}); the window ends now.", "since");
            }
        }

        var name = string.IsNullOrWhiteSpace(user) ? null : user.Trim();
        var everybody = name is null ? caller.IsAdmin : string.Equals(name, "all", StringComparison.OrdinalIgnoreCase);
        string? userId = caller.Id;
        string? userName = caller.User.Name;
        if (everybody || (name is not null && !string.Equals(name, caller.User.Name, StringComparison.Ordinal)))
        {
            if (!caller.IsAdmin)
            {
                return Problems.Forbidden($"Only admins can see another user's usage, or everybody's; you can see your own (leave out user, or user={caller.User.Name}).");
            }

            if (everybody)
            {
                (userId, userName) = (null, null);
            }
            else if (await store.FindUserByNameAsync(name!, cancellationToken) is { } other)
            {
                (userId, userName) = (other.Id, other.Name);
            }
            else
            {
                return Problems.Create(StatusCodes.Status404NotFound, ProblemCodes.NotFound, "No such user.", $"There is no user named '{Truncate(name!)}'.");
            }
        }

        var reservations = await store.ListReservationsAsync(new ReservationQuery(userId, LiveOrEndedAfter: from), cancellationToken);
        return TypedResults.Ok(Report(reservations, from, now, userName));
    }

    /// <summary>Rows per owner and GPU type, ordered by owner then type; totals from the exact sums.</summary>
    internal static UsageReportDto Report(IReadOnlyList<Reservation> reservations, DateTimeOffset since, DateTimeOffset now, string? user)
    {
        var counted = reservations
            .Select(r => (r.UserName, r.GpuType, Booked: GpuHours.BookedWithin(r, since, DateTimeOffset.MaxValue), Used: GpuHours.UsedWithin(r, since, now, now)))
            .ToList();
        var rows = counted
            .GroupBy(c => (c.UserName, c.GpuType))
            .OrderBy(g => g.Key.UserName, StringComparer.Ordinal).ThenBy(g => g.Key.GpuType, StringComparer.Ordinal)
            .Select(g => new UsageRowDto(g.Key.UserName, g.Key.GpuType, g.Count(), Round(g.Sum(c => c.Booked)), Round(g.Sum(c => c.Used))))
            .ToList();
        return new UsageReportDto
        {
            Since = since,
            At = now,
            User = user,
            Rows = rows,
            Total = new UsageTotalDto(counted.Count, Round(counted.Sum(c => c.Booked)), Round(counted.Sum(c => c.Used))),
        };
    }

    private static double Round(double gpuHours) => Math.Round(gpuHours, 4, MidpointRounding.AwayFromZero);

    private static string Rfc3339(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static string Truncate(string value) => value.Length > 40 ? value[..40] + "…" : value;
}

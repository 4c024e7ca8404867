using GpuDev.Contracts;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Server.Audit;
using GpuDev.Server.Identity;
using GpuDev.Server.Reservations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace GpuDev.Server.Api;

public static class ReservationsApi
{
    public static RouteGroupBuilder MapReservationsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/reservations").WithTags("Reservations");
        group.MapPost("/", CreateAsync).WithName("CreateReservation");
        group.MapGet("/", ListAsync).WithName("ListReservations");
        group.MapGet("/{id}", GetAsync).WithName("GetReservation");
        group.MapDelete("/{id}", CancelAsync).WithName("CancelReservation");
        group.MapPatch("/{id}", EditAsync).WithName("EditReservation");
        return api;
    }

    internal static async Task<Results<Created<ReservationDto>, Ok<ReservationDto>, ProblemHttpResult>> CreateAsync(
        CurrentUser caller, CreateReservationRequest body, [FromHeader(Name = Routes.IdempotencyKeyHeader)] string? idempotencyKey,
        ReservationService service, HttpContext http, CancellationToken cancellationToken)
    {
        var (outcome, refusal) = await service.CreateAsync(caller, body.ToDomain(), idempotencyKey, cancellationToken);
        if (outcome is null)
        {
            return refusal!.ToProblem();
        }

        http.Items[AuditMiddleware.TargetItem] = outcome.Reservation.Id;
        var dto = outcome.Reservation.ToDto(withAccess: true);
        return outcome.Created ? TypedResults.Created(Routes.Reservation(dto.Id), dto) : TypedResults.Ok(dto);
    }

    internal static async Task<Results<JsonBody<List<ReservationDto>>, ProblemHttpResult>> ListAsync(
        CurrentUser caller, string? user, string? status, bool? all, IReservationStore store, ReadCache cache, CancellationToken cancellationToken)
    {
        var key = ReadCache.Key("list", caller.Id, caller.IsAdmin ? "admin" : "", caller.User.GithubUser, user, status, all?.ToString());
        var (cached, stamp) = await cache.LookupAsync<List<ReservationDto>>(key, reservationId: null, cancellationToken);
        if (cached is not null)
        {
            return cached;
        }

        ReservationStatus[]? statuses;
        if (status is not null)
        {
            if (!ReservationStateMachine.TryParseWire(status, out var parsed))
            {
                return Problems.BadRequest($"Status '{status}' is not valid; valid statuses: {string.Join(", ", ReservationStateMachine.WireNames)}.", "status");
            }

            statuses = [parsed];
        }
        else
        {
            statuses = all == true ? null : [.. Enum.GetValues<ReservationStatus>().Where(s => s.IsLive())];
        }

        string? userId = caller.Id;
        if (string.Equals(user, "all", StringComparison.OrdinalIgnoreCase))
        {
            userId = null;
        }
        else if (user is not null && !string.Equals(user, caller.User.Name, StringComparison.Ordinal))
        {
            var other = await store.FindUserByNameAsync(user, cancellationToken);
            if (other is null)
            {
                return cache.Store(stamp, key, new List<ReservationDto>());
            }

            userId = other.Id;
        }

        var mine = userId == caller.Id;
        var reservations = await store.ListReservationsAsync(new ReservationQuery(userId, statuses, OrAddedGithubUser: mine ? caller.User.GithubUser : null), cancellationToken);
        return cache.Store(stamp, key, reservations.Select(r => r.ToDto(
            withAccess: HasAccess(caller, r),
            canEdit: ReservationService.CanEdit(caller, r))).ToList());
    }

    /// <summary>Whether the caller may see a reservation's details (owner, added user, admin), not just that it exists.</summary>
    internal static bool HasAccess(CurrentUser caller, Reservation reservation) =>
        caller.IsAdmin || reservation.UserId == caller.Id || IsAddedUser(caller, reservation);

    private static bool IsAddedUser(CurrentUser caller, Reservation reservation) =>
        caller.User.GithubUser is { } github && reservation.AddedUsers.Contains(github, StringComparer.OrdinalIgnoreCase);

    internal static async Task<Results<JsonBody<ReservationDto>, ProblemHttpResult>> GetAsync(
        CurrentUser caller, string id, ReservationService service, ReadCache cache, CancellationToken cancellationToken)
    {
        var key = ReadCache.Key("show", caller.Id, caller.IsAdmin ? "admin" : "", caller.User.GithubUser, id);
        // Only a full id names one reservation for good; a prefix's answer also depends on which others share it.
        var fullId = ReservationService.IsFullId(id) ? id : null;
        var (cached, stamp) = await cache.LookupAsync<ReservationDto>(key, fullId, cancellationToken);
        if (cached is not null)
        {
            return cached;
        }

        var (reservation, refusal) = await service.FindAsync(caller, id, cancellationToken);
        return reservation is null ? refusal!.ToProblem() : cache.Store(stamp, key, reservation.ToDto(withAccess: true, ReservationService.CanEdit(caller, reservation)));
    }

    internal static async Task<Results<Ok<ReservationDto>, ProblemHttpResult>> EditAsync(
        CurrentUser caller, string id, EditReservationRequest body, ReservationService service, HttpContext http, CancellationToken cancellationToken)
    {
        var (reservation, refusal) = await service.FindAsync(caller, id, cancellationToken);
        if (reservation is null)
        {
            return refusal!.ToProblem();
        }

        SetTarget(http, reservation);
        var change = new ReservationChangeRequest(body.ExtendHours, body.Jupyter, body.AddUsers);
        return Answer(await service.EditAsync(caller, reservation, change, cancellationToken));
    }

    internal static async Task<Results<Ok<ReservationDto>, ProblemHttpResult>> CancelAsync(
        CurrentUser caller, string id, ReservationService service, HttpContext http, CancellationToken cancellationToken)
    {
        var (reservation, refusal) = await service.FindAsync(caller, id, cancellationToken);
        if (reservation is null)
        {
            return refusal!.ToProblem();
        }

        SetTarget(http, reservation);
        return Answer(await service.CancelAsync(caller, reservation, cancellationToken));
    }

    private static Results<Ok<ReservationDto>, ProblemHttpResult> Answer(Outcome<Reservation> outcome) =>
        outcome.Value is { } reservation ? TypedResults.Ok(reservation.ToDto(withAccess: true)) : outcome.Refusal!.ToProblem();

    /// <summary>The audit trail names the full id the handler resolved, not the prefix the caller typed. A reservation
    /// the caller may not see (answered 404) keeps the typed id, so the trail reveals nothing either.</summary>
    private static void SetTarget(HttpContext http, Reservation reservation) => http.Items[AuditMiddleware.TargetItem] = reservation.Id;
}

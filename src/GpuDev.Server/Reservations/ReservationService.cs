using GpuDev.Contracts;
using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Server.Api;
using GpuDev.Server.Identity;
using GpuDev.Server.Processing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GpuDev.Server.Reservations;

/// <summary>What the API does with reservations: create (validated, idempotent), find by id prefix, cancel.</summary>
internal sealed partial class ReservationService(
    IReservationStore store,
    GpuCatalog catalog,
    TimeProvider timeProvider,
    SchedulerSignal scheduler,
    JobSignal jobs,
    ILogger<ReservationService> logger)
{
    public const int MinPrefixLength = 4;

    public async Task<Results<Created<ReservationDto>, Ok<ReservationDto>, ProblemHttpResult>> CreateAsync(
        CurrentUser caller, CreateReservationRequest body, string? idempotencyKey, CancellationToken cancellationToken)
    {
        if (idempotencyKey is { Length: 0 or > 128 } || (idempotencyKey is not null && idempotencyKey.Any(char.IsControl)))
        {
            return Problems.BadRequest("Idempotency-Key must be 1-128 printable characters.", "idempotencyKey");
        }

        var request = body.ToDomain();
        var violations = ReservationRules.Validate(request, catalog);
        if (violations.Count > 0)
        {
            return Problems.Validation(violations);
        }

        var type = catalog.Find(request.GpuType)!;
        var gpuCount = ReservationRules.EffectiveGpuCount(request, type);
        var nodeCount = ReservationRules.NodeCount(gpuCount, type);
        if (NotSupported(request) is { } unsupported)
        {
            return Problems.NotSupported(unsupported);
        }

        if (await NeverFitsAsync(type, gpuCount, nodeCount, cancellationToken) is { } capacity)
        {
            return Problems.InsufficientCapacity(capacity);
        }

        var now = timeProvider.GetUtcNow();
        var reservation = new Reservation
        {
            Id = Guid.NewGuid().ToString("N"),
            UserId = caller.Id,
            UserName = caller.User.Name,
            Name = request.Name,
            GpuType = type.Name,
            GpuCount = gpuCount,
            Hours = request.Hours,
            NodeCount = nodeCount,
            Distributed = request.Distributed,
            Status = ReservationStatus.Pending,
            CreatedAt = now,
            StatusReason = "requested",
        };
        var (stored, created) = await store.CreateReservationAsync(reservation, idempotencyKey, null, cancellationToken);
        if (!created)
        {
            return TypedResults.Ok(stored.ToDto(withAccess: true));
        }

        LogCreated(logger, stored.Id, caller.User.Name, gpuCount, type.Name);
        scheduler.Signal.Notify();
        return TypedResults.Created(Routes.Reservation(stored.Id), stored.ToDto(withAccess: true));
    }

    private static string? NotSupported(ReservationRequest request) => request switch
    {
        { Jupyter: true } => "--jupyter is not supported yet.",
        { Disk: not null and not "none" } => "Named persistent disks (--disk NAME) are not supported yet; use --disk none.",
        { RecreateEnv: true } => "--recreate-env is not supported yet.",
        { DockerImage: not null } or { Dockerfile: not null } or { PreserveEntrypoint: true } =>
            "Custom images (--dockerimage, --dockerfile, --preserve-entrypoint) are not supported by this provider.",
        { NodeLabels.Count: > 0 } => "--node-label is not supported yet.",
        _ => null,
    };

    private async Task<string?> NeverFitsAsync(GpuType type, int gpuCount, int nodeCount, CancellationToken cancellationToken)
    {
        var nodes = await store.GetNodesAsync(cancellationToken);
        var ofType = nodes.Where(n => string.Equals(n.GpuType, type.Name, StringComparison.OrdinalIgnoreCase)).ToList();
        if (ofType.Count == 0)
        {
            var offered = nodes.GroupBy(n => n.GpuType).Select(g => $"{g.Key} ({g.Sum(n => n.GpuCount)} GPUs on {g.Count()} node(s))");
            return $"This site has no {type.Name} nodes; it offers: {string.Join(", ", offered)}.";
        }

        if (nodeCount <= 1 && ofType.Max(n => n.GpuCount) < gpuCount)
        {
            return $"No {type.Name} node has {gpuCount} GPUs; the largest has {ofType.Max(n => n.GpuCount)}.";
        }

        var whole = ofType.Count(n => n.GpuCount == gpuCount / nodeCount);
        return nodeCount > 1 && whole < nodeCount
            ? $"{gpuCount} {type.Name} GPUs need {nodeCount} nodes of {gpuCount / nodeCount} GPUs; this site has {whole}."
            : null;
    }

    /// <summary>Finds a reservation the caller may see by full id or unique prefix (at least 4 characters).</summary>
    public async Task<(Reservation? Reservation, ProblemHttpResult? Problem)> FindAsync(CurrentUser caller, string idOrPrefix, CancellationToken cancellationToken)
    {
        var prefix = idOrPrefix.Trim().ToLowerInvariant();
        if (prefix.Length < MinPrefixLength || prefix.Length > 32 || !prefix.All(char.IsAsciiHexDigitLower))
        {
            return (null, Problems.BadRequest($"A reservation id is 4-32 hex characters (a prefix of the id); got '{Truncate(idOrPrefix)}'.", "id"));
        }

        var matches = await store.ListReservationsAsync(new ReservationQuery(UserId: caller.IsAdmin ? null : caller.Id, IdPrefix: prefix), cancellationToken);
        return matches.Count switch
        {
            0 => (null, Problems.NotFound(Truncate(idOrPrefix))),
            1 => (matches[0], null),
            _ => (null, Problems.Ambiguous(prefix, matches.Select(m => m.Id))),
        };
    }

    public async Task<Results<Ok<ReservationDto>, ProblemHttpResult>> CancelAsync(CurrentUser caller, Reservation reservation, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            if (reservation.Status.IsTerminal())
            {
                return Problems.InvalidTransition($"Reservation {reservation.Id[..8]} is already {reservation.Status.ToWire()}.");
            }

            var now = timeProvider.GetUtcNow();
            var transition = new ReservationTransition(reservation.Id, reservation.Status, ReservationStatus.Cancelled, $"cancelled by {caller.User.Name}", now)
            {
                EndedAt = now,
                FollowUp = new JobRequest(JobKind.Teardown, reservation.Id, now),
            };
            if (await store.TransitionAsync(transition, cancellationToken))
            {
                LogCancelled(logger, reservation.Id, caller.User.Name);
                jobs.Signal.Notify();
                var cancelled = await store.GetReservationAsync(reservation.Id, cancellationToken);
                return TypedResults.Ok(cancelled!.ToDto(withAccess: true));
            }

            reservation = (await store.GetReservationAsync(reservation.Id, cancellationToken))!;
        }

        return Problems.InvalidTransition($"Reservation {reservation.Id[..8]} changed while cancelling; try again.");
    }

    private static string Truncate(string value) => value.Length > 40 ? value[..40] + "…" : value;

    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Reservation {ReservationId} created by {User}: {GpuCount} x {GpuType}")]
    private static partial void LogCreated(ILogger logger, string reservationId, string user, int gpuCount, string gpuType);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Reservation {ReservationId} cancelled by {User}")]
    private static partial void LogCancelled(ILogger logger, string reservationId, string user);
}

using GpuDev.Contracts;
using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using GpuDev.Core.Disks;
using GpuDev.Core.Identity;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Server.Api;
using GpuDev.Server.Disks;
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
    IComputeProvider provider,
    KeyCollector keys,
    IDiskStore disks,
    Faults.CrashPoints crash,
    Microsoft.Extensions.Options.IOptions<Hosting.ServerOptions> serverOptions,
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

        if (request.BuildContext is { } context && !File.Exists(Path.Combine(serverOptions.Value.DataDir, BuildContexts.RelativePath(context))))
        {
            return Problems.Validation([new RuleViolation("build-context-missing", "buildContext",
                $"The build context {context} has not been uploaded: PUT it to {Contracts.Routes.BuildContext(context)} first (gpu-dev reserve --dockerfile does).")]);
        }

        if (await NeverFitsAsync(type, gpuCount, nodeCount, request.NodeLabels, cancellationToken) is { } capacity)
        {
            return Problems.InsufficientCapacity(capacity);
        }

        Disk? disk = null;
        if (request.Disk is { } diskName && diskName != "none" && !request.NoPersist)
        {
            disk = await disks.FindDiskAsync(caller.Id, diskName, includeDeleted: false, cancellationToken);
            if (disk is null)
            {
                return DisksApi.NotFound(diskName);
            }
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
            Jupyter = request.Jupyter,
            Distributed = request.Distributed,
            Status = ReservationStatus.Pending,
            CreatedAt = now,
            StatusReason = "requested",
            DiskId = disk?.Id,
            RecreateEnv = request.RecreateEnv && disk is not null,
            Options = new EnvironmentOptions
            {
                DockerImage = request.DockerImage,
                Dockerfile = request.Dockerfile,
                BuildContext = request.BuildContext,
                PreserveEntrypoint = request.PreserveEntrypoint,
                NodeLabels = request.NodeLabels is { Count: > 0 } labels ? new Dictionary<string, string>(labels, StringComparer.Ordinal) : EnvironmentOptions.None.NodeLabels,
            },
        };
        Reservation stored;
        bool created;
        try
        {
            (stored, created) = await store.CreateReservationAsync(reservation, idempotencyKey, null, cancellationToken);
        }
        catch (DiskInUseException)
        {
            return DisksApi.InUse((await disks.GetDiskAsync(disk!.Id, cancellationToken))!, forReservation: true);
        }

        if (!created)
        {
            return TypedResults.Ok(stored.ToDto(withAccess: true));
        }

        LogCreated(logger, stored.Id, caller.User.Name, gpuCount, type.Name);
        scheduler.Signal.Notify();
        return TypedResults.Created(Routes.Reservation(stored.Id), stored.ToDto(withAccess: true));
    }

    private string? NotSupported(ReservationRequest request) => request switch
    {
        { DockerImage: not null } or { Dockerfile: not null } or { PreserveEntrypoint: true } when !provider.SupportsCustomImages =>
            $"Custom images (--dockerimage, --dockerfile, --preserve-entrypoint) are not supported by the {provider.Name} provider.",
        { BuildContext: not null } when !provider.SupportsBuildContexts =>
            $"A build context (the files next to the Dockerfile) is not supported by the {provider.Name} provider: it builds the Dockerfile alone.",
        _ => null,
    };

    private async Task<string?> NeverFitsAsync(GpuType type, int gpuCount, int nodeCount, IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken)
    {
        var nodes = await store.GetNodesAsync(cancellationToken);
        var ofType = nodes.Where(n => string.Equals(n.GpuType, type.Name, StringComparison.OrdinalIgnoreCase)).ToList();
        if (ofType.Count == 0)
        {
            var offered = nodes.GroupBy(n => n.GpuType).Select(g => $"{g.Key} ({g.Sum(n => n.GpuCount)} GPUs on {g.Count()} node(s))");
            return $"This site has no {type.Name} nodes; it offers: {string.Join(", ", offered)}.";
        }

        if (labels is { Count: > 0 })
        {
            var wanted = string.Join(",", labels.Select(l => $"{l.Key}={l.Value}"));
            ofType = ofType.Where(n => labels.All(l => n.Labels is not null && n.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).ToList();
            if (ofType.Count == 0)
            {
                return $"No {type.Name} node has the labels {wanted}; --node-label selects nodes by their labels.";
            }
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

        var matches = await store.ListReservationsAsync(
            new ReservationQuery(UserId: caller.IsAdmin ? null : caller.Id, IdPrefix: prefix, OrAddedGithubUser: caller.IsAdmin ? null : caller.User.GithubUser),
            cancellationToken);
        return matches.Count switch
        {
            0 => (null, Problems.NotFound(Truncate(idOrPrefix))),
            1 => (matches[0], null),
            _ => (null, Problems.Ambiguous(prefix, matches.Select(m => m.Id))),
        };
    }

    /// <summary>Owners and admins may change a reservation; an added user may only look and connect.</summary>
    public static bool CanEdit(CurrentUser caller, Reservation reservation) => caller.IsAdmin || reservation.UserId == caller.Id;

    public async Task<Results<Ok<ReservationDto>, ProblemHttpResult>> CancelAsync(CurrentUser caller, Reservation reservation, CancellationToken cancellationToken)
    {
        if (!CanEdit(caller, reservation))
        {
            LogRefused(logger, reservation.Id, caller.User.Name, "cancel");
            return Problems.Forbidden($"Only {reservation.UserName} (the owner) or an admin can cancel reservation {reservation.Id[..8]}; you were added to it.");
        }

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
                crash.Reach(Faults.CrashSteps.AfterCancelCommitted);
                LogCancelled(logger, reservation.Id, caller.User.Name);
                jobs.Signal.Notify();
                var cancelled = await store.GetReservationAsync(reservation.Id, cancellationToken);
                return TypedResults.Ok(cancelled!.ToDto(withAccess: true));
            }

            reservation = (await store.GetReservationAsync(reservation.Id, cancellationToken))!;
        }

        return Problems.InvalidTransition($"Reservation {reservation.Id[..8]} changed while cancelling; try again.");
    }

    public async Task<Results<Ok<ReservationDto>, ProblemHttpResult>> EditAsync(CurrentUser caller, Reservation reservation, EditReservationRequest edit, CancellationToken cancellationToken)
    {
        if (!CanEdit(caller, reservation))
        {
            LogRefused(logger, reservation.Id, caller.User.Name, "edit");
            return Problems.Forbidden($"Only {reservation.UserName} (the owner) or an admin can edit reservation {reservation.Id[..8]}; you were added to it.");
        }

        if (edit is { ExtendHours: null, Jupyter: null, AddUsers: null or { Count: 0 } })
        {
            return Problems.BadRequest("Give at least one change: extendHours, jupyter or addUsers.", "edit");
        }

        if (reservation.Status != ReservationStatus.Active)
        {
            return Problems.InvalidTransition($"Reservation {reservation.Id[..8]} is {reservation.Status.ToWire()}; only active reservations can be edited.");
        }

        var badUser = edit.AddUsers?.FirstOrDefault(u => !UserNames.IsValidGithub(u));
        if (badUser is not null)
        {
            return Problems.BadRequest($"'{Truncate(badUser)}' is not a GitHub user name (1-39 letters, digits or single hyphens).", "addUsers");
        }

        // An added user who could not log in is refused now, with the reason, rather than reported as added.
        foreach (var user in (edit.AddUsers ?? []).Distinct(StringComparer.OrdinalIgnoreCase)
                     .Where(u => !reservation.AddedUsers.Contains(u, StringComparer.OrdinalIgnoreCase)))
        {
            if (await keys.CheckAddableAsync(user, cancellationToken) is { } refusal)
            {
                return refusal.Unavailable ? Problems.Unavailable(refusal.Message) : Problems.BadRequest(refusal.Message, "addUsers");
            }
        }

        var now = timeProvider.GetUtcNow();
        var change = new ReservationEdit(reservation.Id) { At = now, AddUsers = edit.AddUsers?.Distinct(StringComparer.OrdinalIgnoreCase).ToList() };
        if (edit.ExtendHours is { } hours)
        {
            if (ReservationLimits.CheckExtension(reservation, hours) is { } refusal)
            {
                return refusal.Code == "conflict" ? Problems.Conflict(refusal.Message) : Problems.BadRequest(refusal.Message, "extendHours");
            }

            change = change with { ExpiresAt = reservation.ExpiresAt!.Value + TimeSpan.FromHours(hours), ExtendedHours = hours, ClearWarnings = true };
        }

        if (edit.Jupyter is { } jupyter)
        {
            try
            {
                var endpoint = jupyter ? await provider.StartJupyterAsync(reservation.Id, cancellationToken) : null;
                if (!jupyter)
                {
                    await provider.StopJupyterAsync(reservation.Id, cancellationToken);
                }

                change = change with { Jupyter = jupyter, JupyterUrl = endpoint?.Url };
            }
            catch (EnvironmentUnavailableException e)
            {
                return Problems.Unavailable(e.Message);
            }
        }

        if (!await store.EditActiveAsync(change, cancellationToken))
        {
            return Problems.InvalidTransition($"Reservation {reservation.Id[..8]} ended while it was being edited.");
        }

        var updated = (await store.GetReservationAsync(reservation.Id, cancellationToken))!;
        if (change.ClearWarnings)
        {
            await provider.ClearWarningsAsync(reservation.Id, cancellationToken);
            scheduler.Signal.Notify();
        }

        if (change.AddUsers is { Count: > 0 })
        {
            await provider.EnsureEnvironmentAsync(Processing.ProvisionHandler.ToSpec(updated, await keys.CollectAsync(updated, cancellationToken)), cancellationToken);
        }

        LogEdited(logger, reservation.Id, caller.User.Name);
        return TypedResults.Ok(updated.ToDto(withAccess: true));
    }

    private static string Truncate(string value) => value.Length > 40 ? value[..40] + "…" : value;

    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Reservation {ReservationId} created by {User}: {GpuCount} x {GpuType}")]
    private static partial void LogCreated(ILogger logger, string reservationId, string user, int gpuCount, string gpuType);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Refused to {Action} reservation {ReservationId} for {User}: not the owner")]
    private static partial void LogRefused(ILogger logger, string reservationId, string user, string action);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "Reservation {ReservationId} edited by {User}")]
    private static partial void LogEdited(ILogger logger, string reservationId, string user);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Reservation {ReservationId} cancelled by {User}")]
    private static partial void LogCancelled(ILogger logger, string reservationId, string user);
}

using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using GpuDev.Core.Disks;
using GpuDev.Core.Identity;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;
using GpuDev.Server.Identity;
using GpuDev.Server.Processing;

namespace GpuDev.Server.Reservations;

/// <summary>What can be done with reservations: create (validated, idempotent), find by id prefix, cancel, edit. It answers
/// in the domain's terms (reservations and <see cref="Refusal"/>s); the API layer maps them to HTTP.</summary>
internal sealed partial class ReservationService(
    IReservationStore store,
    GpuCatalog catalog,
    TimeProvider timeProvider,
    SchedulerSignal scheduler,
    JobSignal jobs,
    IComputeProvider provider,
    KeyCollector keys,
    IDiskStore disks,
    Quotas quotas,
    Processing.FleetView fleetView,
    Microsoft.Extensions.Options.IOptions<Hosting.ServerOptions> serverOptions,
    ILogger<ReservationService> logger)
{
    public const int MinPrefixLength = 4;

    /// <summary>Stores a new reservation, pending, with its first job (<see cref="JobKind.Schedule"/>) in the same
    /// transaction; or, for an idempotency key the caller used before, returns the earlier reservation.</summary>
    public async Task<Outcome<CreatedReservation>> CreateAsync(
        CurrentUser caller, ReservationRequest request, string? idempotencyKey, CancellationToken cancellationToken)
    {
        if (idempotencyKey is { Length: 0 or > 128 } || (idempotencyKey is not null && idempotencyKey.Any(char.IsControl)))
        {
            return Refusal.BadInput("Idempotency-Key must be 1-128 printable characters.", "idempotencyKey");
        }

        var violations = ReservationRules.Validate(request, catalog);
        if (violations.Count > 0)
        {
            return new Refusal(RefusalKind.RuleViolations, string.Join(" ", violations.Select(v => v.Message))) { Violations = violations };
        }

        var type = catalog.Find(request.GpuType)!;
        var gpuCount = ReservationRules.EffectiveGpuCount(request, type);
        var nodeCount = ReservationRules.NodeCount(gpuCount, type);
        if (NotSupported(request) is { } unsupported)
        {
            return new Refusal(RefusalKind.NotSupported, unsupported);
        }

        if (request.BuildContext is { } context && !File.Exists(Path.Combine(serverOptions.Value.DataDir, BuildContexts.RelativePath(context))))
        {
            RuleViolation missing = new("build-context-missing", "buildContext",
                $"The build context {context} has not been uploaded: PUT it to {Contracts.Routes.BuildContext(context)} first (gpu-dev reserve --dockerfile does).");
            return new Refusal(RefusalKind.RuleViolations, missing.Message) { Violations = [missing] };
        }

        if (await NeverFitsAsync(type, gpuCount, nodeCount, request.NodeLabels, cancellationToken) is { } capacity)
        {
            return new Refusal(RefusalKind.NeverFits, capacity);
        }

        // A retry of a request that was stored is answered with it (below), whatever the quotas say now.
        if (idempotencyKey is null || !await store.IdempotencyKeyUsedAsync(caller.Id, idempotencyKey, cancellationToken))
        {
            if (await quotas.CheckAsync(caller.Id, gpuCount, request.Hours, timeProvider.GetUtcNow(), cancellationToken) is { } over)
            {
                return over;
            }
        }

        Disk? disk = null;
        if (request.Disk is { } diskName && diskName != "none" && !request.NoPersist)
        {
            disk = await disks.FindDiskAsync(caller.Id, diskName, includeDeleted: false, cancellationToken);
            if (disk is null)
            {
                return new Refusal(RefusalKind.DiskNotFound, $"You have no disk named {diskName}.") { DiskName = diskName };
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
            // The first job: any replica's job worker (this one's, woken below) runs a scheduling pass for it at once,
            // so a request need not wait for the scheduler's poll on whichever replica holds the scheduler lease.
            var first = new JobRequest(JobKind.Schedule, reservation.Id, now);
            (stored, created) = await store.CreateReservationAsync(reservation, idempotencyKey, first, cancellationToken);
        }
        catch (DiskInUseException e)
        {
            var held = (await disks.GetDiskAsync(disk!.Id, cancellationToken))!;
            return new Refusal(RefusalKind.DiskInUse, e.Message) { Disk = held };
        }

        if (created)
        {
            LogCreated(logger, stored.Id, caller.User.Name, gpuCount, type.Name);
            jobs.Signal.Notify();
        }

        return new CreatedReservation(stored, created);
    }

    private string? NotSupported(ReservationRequest request) => request switch
    {
        { DockerImage: not null } or { Dockerfile: not null } or { PreserveEntrypoint: true } when !provider.SupportsCustomImages =>
            $"Custom images (--dockerimage, --dockerfile, --preserve-entrypoint) are not supported by the {provider.Name} provider.",
        { BuildContext: not null } when !provider.SupportsBuildContexts =>
            $"A build context (the files next to the Dockerfile) is not supported by the {provider.Name} provider: it builds the Dockerfile alone.",
        _ => null,
    };

    /// <summary>Why the request can never start, or null. A request today's nodes cannot hold is accepted when the provider's
    /// node groups can grow enough for it (it then waits for the new nodes), and refused naming their maximum when not.</summary>
    private async Task<string?> NeverFitsAsync(GpuType type, int gpuCount, int nodeCount, IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken)
    {
        var nodes = await store.GetNodesAsync(cancellationToken);
        var today = NeverFitsToday(type, gpuCount, nodeCount, labels, nodes);
        if (today is null || provider is not INodeGroups groups)
        {
            return today;
        }

        var growth = NodeGroupGrowth.For(type.Name, gpuCount, nodeCount, labels, nodes, await groups.ListNodeGroupsAsync(cancellationToken));
        return growth is null ? today : growth.CanStart ? null : growth.RefusalText(type.Name, gpuCount, nodeCount, labels);
    }

    private static string? NeverFitsToday(GpuType type, int gpuCount, int nodeCount, IReadOnlyDictionary<string, string>? labels, IReadOnlyList<ComputeNode> nodes)
    {
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
    public async Task<Outcome<Reservation>> FindAsync(CurrentUser caller, string idOrPrefix, CancellationToken cancellationToken)
    {
        var prefix = idOrPrefix.Trim().ToLowerInvariant();
        if (prefix.Length < MinPrefixLength || prefix.Length > 32 || !prefix.All(char.IsAsciiHexDigitLower))
        {
            return Refusal.BadInput($"A reservation id is 4-32 hex characters (a prefix of the id); got '{Truncate(idOrPrefix)}'.", "id");
        }

        var matches = await store.ListReservationsAsync(
            new ReservationQuery(UserId: caller.IsAdmin ? null : caller.Id, IdPrefix: prefix, OrAddedGithubUser: caller.IsAdmin ? null : caller.User.GithubUser),
            cancellationToken);
        return matches.Count switch
        {
            0 => new Refusal(RefusalKind.ReservationNotFound, $"No reservation of yours matches '{Truncate(idOrPrefix)}'."),
            1 => matches[0],
            _ => new Refusal(RefusalKind.AmbiguousId,
                $"'{prefix}' matches several reservations ({string.Join(", ", matches.Select(m => m.Id[..8]))}); give more characters."),
        };
    }

    /// <summary>Whether <paramref name="id"/> is a whole reservation id as the store keeps it (32 lowercase hex characters),
    /// not a prefix.</summary>
    public static bool IsFullId(string id) => id.Length == 32 && id.All(char.IsAsciiHexDigitLower);

    /// <summary>Owners and admins may change a reservation; an added user may only look and connect.</summary>
    public static bool CanEdit(CurrentUser caller, Reservation reservation) => caller.IsAdmin || reservation.UserId == caller.Id;

    public async Task<Outcome<Reservation>> CancelAsync(CurrentUser caller, Reservation reservation, CancellationToken cancellationToken)
    {
        if (!CanEdit(caller, reservation))
        {
            LogRefused(logger, reservation.Id, caller.User.Name, "cancel");
            return new Refusal(RefusalKind.NotOwner, $"Only {reservation.UserName} (the owner) or an admin can cancel reservation {reservation.Id[..8]}; you were added to it.");
        }

        for (var attempt = 0; attempt < 5; attempt++)
        {
            if (reservation.Status.IsTerminal())
            {
                return new Refusal(RefusalKind.InvalidTransition, $"Reservation {reservation.Id[..8]} is already {reservation.Status.ToWire()}.");
            }

            var now = timeProvider.GetUtcNow();
            var transition = new ReservationTransition(reservation.Id, reservation.Status, ReservationStatus.Cancelled, $"cancelled by {caller.User.Name}", now)
            {
                EndedAt = now,
                FollowUp = new JobRequest(JobKind.Teardown, reservation.Id, now),
            };
            if (await store.TransitionAsync(transition, cancellationToken))
            {
                Faults.Steps.Reached(Faults.CrashSteps.AfterCancelCommitted);
                LogCancelled(logger, reservation.Id, caller.User.Name);
                jobs.Signal.Notify();
                return (await store.GetReservationAsync(reservation.Id, cancellationToken))!;
            }

            reservation = (await store.GetReservationAsync(reservation.Id, cancellationToken))!;
        }

        return new Refusal(RefusalKind.InvalidTransition, $"Reservation {reservation.Id[..8]} changed while cancelling; try again.");
    }

    public async Task<Outcome<Reservation>> EditAsync(CurrentUser caller, Reservation reservation, ReservationChangeRequest edit, CancellationToken cancellationToken)
    {
        if (!CanEdit(caller, reservation))
        {
            LogRefused(logger, reservation.Id, caller.User.Name, "edit");
            return new Refusal(RefusalKind.NotOwner, $"Only {reservation.UserName} (the owner) or an admin can edit reservation {reservation.Id[..8]}; you were added to it.");
        }

        if (edit is { ExtendHours: null, Jupyter: null, AddUsers: null or { Count: 0 } })
        {
            return Refusal.BadInput("Give at least one change: extendHours, jupyter or addUsers.", "edit");
        }

        if (reservation.Status != ReservationStatus.Active)
        {
            return new Refusal(RefusalKind.InvalidTransition, $"Reservation {reservation.Id[..8]} is {reservation.Status.ToWire()}; only active reservations can be edited.");
        }

        var badUser = edit.AddUsers?.FirstOrDefault(u => !UserNames.IsValidGithub(u));
        if (badUser is not null)
        {
            return Refusal.BadInput($"'{Truncate(badUser)}' is not a GitHub user name (1-39 letters, digits or single hyphens).", "addUsers");
        }

        // An added user who could not log in is refused now, with the reason, rather than reported as added.
        foreach (var user in (edit.AddUsers ?? []).Distinct(StringComparer.OrdinalIgnoreCase)
                     .Where(u => !reservation.AddedUsers.Contains(u, StringComparer.OrdinalIgnoreCase)))
        {
            if (await keys.CheckAddableAsync(user, cancellationToken) is { } refusal)
            {
                return refusal.Unavailable ? new Refusal(RefusalKind.Unavailable, refusal.Message) : Refusal.BadInput(refusal.Message, "addUsers");
            }
        }

        var now = timeProvider.GetUtcNow();
        var change = new ReservationEdit(reservation.Id) { At = now, AddUsers = edit.AddUsers?.Distinct(StringComparer.OrdinalIgnoreCase).ToList() };
        if (edit.ExtendHours is { } hours)
        {
            if (ReservationLimits.CheckExtension(reservation, hours) is { } refusal)
            {
                return refusal.Code == "conflict" ? new Refusal(RefusalKind.Conflict, refusal.Message) : Refusal.BadInput(refusal.Message, "extendHours");
            }

            if (ExtensionPromises.Check(await fleetView.LoadAsync(cancellationToken), reservation, hours) is { } breaksAPromise)
            {
                return new Refusal(RefusalKind.Conflict, breaksAPromise);
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
                return new Refusal(RefusalKind.Unavailable, e.Message);
            }
        }

        if (!await store.EditActiveAsync(change, cancellationToken))
        {
            return new Refusal(RefusalKind.InvalidTransition, $"Reservation {reservation.Id[..8]} ended while it was being edited.");
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
        return updated;
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

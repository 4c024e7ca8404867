using GpuDev.Core.Compute;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Server.Audit;
using GpuDev.Server.Hosting;
using GpuDev.Server.Identity;
using GpuDev.Server.Observability;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Processing;

/// <summary>Builds the environment of a preparing reservation and makes it active once a real SSH
/// handshake succeeded. Repeatable: the provider's calls are idempotent.</summary>
internal sealed partial class ProvisionHandler(
    IReservationStore store,
    IComputeProvider provider,
    KeyCollector keys,
    TimeProvider timeProvider,
    IOptions<ServerOptions> options,
    AuditTrail audit,
    ServerMetrics metrics,
    ILogger<ProvisionHandler> logger)
{
    private static readonly TimeSpan s_startingPoll = TimeSpan.FromMilliseconds(500);

    public async Task<JobOutcome> HandleAsync(Job job, CancellationToken cancellationToken)
    {
        var reservation = await store.GetReservationAsync(job.ReservationId, cancellationToken);
        if (reservation is not { Status: ReservationStatus.Preparing })
        {
            return JobOutcome.Done;
        }

        var authorized = await keys.CollectAsync(reservation, cancellationToken);
        if (authorized.Count == 0)
        {
            await FailAsync(reservation, "no SSH public key: register one with 'gpu-dev-server user add --ssh-key' or set github_user", cancellationToken);
            return JobOutcome.Done;
        }

        EnvironmentStatus status;
        try
        {
            status = await provider.EnsureEnvironmentAsync(ToSpec(reservation, authorized), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            status = new EnvironmentStatus(EnvironmentState.Failed, null, e.Message);
        }

        if (status.State == EnvironmentState.Failed)
        {
            metrics.ProviderError(provider.Name, "ensure_environment");
        }

        switch (status.State)
        {
            case EnvironmentState.Ready when status.Ssh is not null:
                Faults.Steps.Reached(Faults.CrashSteps.AfterEnsure);
                await ActivateAsync(reservation, status, cancellationToken);
                return JobOutcome.Done;
            case EnvironmentState.Failed:
                LogAttemptFailed(logger, reservation.Id, job.Attempts, status.Message);
                if (job.Attempts >= options.Value.MaxProvisionAttempts)
                {
                    await FailAsync(reservation, $"environment could not start: {status.Message}", cancellationToken);
                    return JobOutcome.Done;
                }

                await provider.RemoveEnvironmentAsync(reservation.Id, cancellationToken);
                return JobOutcome.Retry(JobWorker.Backoff(job.Attempts), status.Message);
            default:
                if (status.Message is { } progress && reservation.History.Count > 0 && reservation.History[^1].Reason != progress)
                {
                    await store.AddNoteAsync(reservation.Id, ReservationStatus.Preparing, progress, timeProvider.GetUtcNow(), cancellationToken);
                }

                return JobOutcome.Retry(s_startingPoll);
        }
    }

    private async Task ActivateAsync(Reservation reservation, EnvironmentStatus status, CancellationToken cancellationToken)
    {
        var ssh = status.Ssh!;
        var reason = "ssh handshake succeeded";
        JupyterEndpoint? jupyter = null;
        if (reservation.Jupyter)
        {
            try
            {
                jupyter = await provider.StartJupyterAsync(reservation.Id, cancellationToken);
            }
            catch (EnvironmentUnavailableException e)
            {
                reason += $"; Jupyter could not start: {e.Message}";
            }
        }

        var now = timeProvider.GetUtcNow();
        var transition = new ReservationTransition(reservation.Id, ReservationStatus.Preparing, ReservationStatus.Active, reason, now)
        {
            Ssh = ssh,
            NodeEndpoints = status.NodeEndpoints,
            StartedAt = now,
            ExpiresAt = now + TimeSpan.FromHours(reservation.Hours),
            Jupyter = reservation.Jupyter ? jupyter is not null : null,
            JupyterUrl = jupyter?.Url,
        };
        if (await store.TransitionAsync(transition, cancellationToken))
        {
            Faults.Steps.Reached(Faults.CrashSteps.AfterActive);
            await audit.TransitionedAsync(AuditTrail.Job, transition);

            LogActive(logger, reservation.Id, ssh.Port);
            return;
        }

        // Cancelled (or failed) while we were building: its teardown job may already have run, so remove what we made.
        await provider.RemoveEnvironmentAsync(reservation.Id, cancellationToken);
    }

    private async Task FailAsync(Reservation reservation, string reason, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var failed = new ReservationTransition(reservation.Id, ReservationStatus.Preparing, ReservationStatus.Failed, reason, now)
        {
            EndedAt = now,
            FollowUp = new JobRequest(JobKind.Teardown, reservation.Id, now),
        };
        if (await store.TransitionAsync(failed, cancellationToken))
        {
            await audit.TransitionedAsync(AuditTrail.Job, failed);
        }

        LogFailed(logger, reservation.Id, reason);
    }

    internal static EnvironmentSpec ToSpec(Reservation reservation, IReadOnlyList<string> keys) => new()
    {
        ReservationId = reservation.Id,
        Owner = reservation.UserName,
        AuthorizedKeys = keys,
        Allocations = reservation.Allocations,
        GpuType = reservation.GpuType,
        DiskId = reservation.DiskId,
        RecreateEnv = reservation.RecreateEnv,
        Options = reservation.Options,
        Jupyter = reservation.Jupyter,
    };

    [LoggerMessage(EventId = 1600, Level = LogLevel.Information, Message = "Reservation {ReservationId} is active (ssh port {Port})")]
    private static partial void LogActive(ILogger logger, string reservationId, int port);

    [LoggerMessage(EventId = 1601, Level = LogLevel.Warning, Message = "Reservation {ReservationId}: provisioning attempt {Attempt} failed: {Message}")]
    private static partial void LogAttemptFailed(ILogger logger, string reservationId, int attempt, string? message);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Warning, Message = "Reservation {ReservationId} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reservationId, string reason);
}

using GpuDev.Core.Compute;
using GpuDev.Core.Identity;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Processing;

/// <summary>Builds the environment of a preparing reservation and makes it active once a real SSH
/// handshake succeeded. Repeatable: the provider's calls are idempotent.</summary>
internal sealed partial class ProvisionHandler(
    IReservationStore store,
    IComputeProvider provider,
    ISshKeySource keySource,
    TimeProvider timeProvider,
    IOptions<ServerOptions> options,
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

        var keys = await CollectKeysAsync(reservation, cancellationToken);
        if (keys.Count == 0)
        {
            await FailAsync(reservation, "no SSH public key: register one with 'gpu-dev-server user add --ssh-key' or set github_user", cancellationToken);
            return JobOutcome.Done;
        }

        EnvironmentStatus status;
        try
        {
            status = await provider.EnsureEnvironmentAsync(ToSpec(reservation, keys), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            status = new EnvironmentStatus(EnvironmentState.Failed, null, e.Message);
        }

        switch (status.State)
        {
            case EnvironmentState.Ready when status.Ssh is not null:
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
                return JobOutcome.Retry(s_startingPoll);
        }
    }

    private async Task ActivateAsync(Reservation reservation, EnvironmentStatus status, CancellationToken cancellationToken)
    {
        var ssh = status.Ssh!;
        var now = timeProvider.GetUtcNow();
        var transition = new ReservationTransition(reservation.Id, ReservationStatus.Preparing, ReservationStatus.Active, "ssh handshake succeeded", now)
        {
            Ssh = ssh,
            NodeEndpoints = status.NodeEndpoints,
            StartedAt = now,
            ExpiresAt = now + TimeSpan.FromHours(reservation.Hours),
        };
        if (await store.TransitionAsync(transition, cancellationToken))
        {
            LogActive(logger, reservation.Id, ssh.Port);
            return;
        }

        // Cancelled (or failed) while we were building: its teardown job may already have run, so remove what we made.
        await provider.RemoveEnvironmentAsync(reservation.Id, cancellationToken);
    }

    private async Task FailAsync(Reservation reservation, string reason, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        await store.TransitionAsync(new ReservationTransition(reservation.Id, ReservationStatus.Preparing, ReservationStatus.Failed, reason, now)
        {
            EndedAt = now,
            FollowUp = new JobRequest(JobKind.Teardown, reservation.Id, now),
        }, cancellationToken);
        LogFailed(logger, reservation.Id, reason);
    }

    private async Task<IReadOnlyList<string>> CollectKeysAsync(Reservation reservation, CancellationToken cancellationToken)
    {
        var keys = new List<string>(await store.GetSshKeysAsync(reservation.UserId, cancellationToken));
        var owner = await store.FindUserByNameAsync(reservation.UserName, cancellationToken);
        if (owner?.GithubUser is { } github)
        {
            try
            {
                keys.AddRange(await keySource.GetKeysAsync(github, cancellationToken));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                LogKeysUnavailable(logger, github, e.Message);
            }
        }

        return [.. keys.Distinct(StringComparer.Ordinal)];
    }

    private static EnvironmentSpec ToSpec(Reservation reservation, IReadOnlyList<string> keys) => new()
    {
        ReservationId = reservation.Id,
        Owner = reservation.UserName,
        AuthorizedKeys = keys,
        Allocations = reservation.Allocations,
        GpuType = reservation.GpuType,
        ExpiresAt = reservation.CreatedAt + TimeSpan.FromHours(reservation.Hours),
    };

    [LoggerMessage(EventId = 1600, Level = LogLevel.Information, Message = "Reservation {ReservationId} is active (ssh port {Port})")]
    private static partial void LogActive(ILogger logger, string reservationId, int port);

    [LoggerMessage(EventId = 1601, Level = LogLevel.Warning, Message = "Reservation {ReservationId}: provisioning attempt {Attempt} failed: {Message}")]
    private static partial void LogAttemptFailed(ILogger logger, string reservationId, int attempt, string? message);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Warning, Message = "Reservation {ReservationId} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reservationId, string reason);

    [LoggerMessage(EventId = 1603, Level = LogLevel.Warning, Message = "Could not fetch the SSH keys of GitHub user {GithubUser}: {Message}")]
    private static partial void LogKeysUnavailable(ILogger logger, string githubUser, string message);
}

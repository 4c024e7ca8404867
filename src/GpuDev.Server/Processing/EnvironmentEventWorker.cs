using GpuDev.Core.Compute;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;

namespace GpuDev.Server.Processing;

/// <summary>Turns what the provider sees on its own (a pod evicted, a node gone, an image that cannot be pulled, nodes
/// added) into durable changes: the reservation fails with the reason and its teardown job in one transaction, a
/// note in its history, or a new node inventory for the scheduler. Runs only for providers that have events.</summary>
internal sealed partial class EnvironmentEventWorker(
    IComputeProvider provider,
    IReservationStore store,
    TimeProvider timeProvider,
    SchedulerSignal scheduler,
    JobSignal jobs,
    Audit.AuditTrail audit,
    ILogger<EnvironmentEventWorker> logger) : BackgroundService
{
    private static readonly TimeSpan s_retry = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (provider is not IEnvironmentEvents events)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var e in events.WatchAsync(stoppingToken))
                {
                    await HandleAsync(e, stoppingToken);
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogWatchFailed(logger, e);
                try
                {
                    await Task.Delay(s_retry, timeProvider, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async Task HandleAsync(EnvironmentEvent e, CancellationToken cancellationToken)
    {
        switch (e.Kind)
        {
            case EnvironmentEventKind.NodesChanged:
                await store.SyncNodesAsync(await provider.DiscoverNodesAsync(cancellationToken), cancellationToken);
                scheduler.Signal.Notify();
                return;
            case EnvironmentEventKind.Progress when e.ReservationId is not null:
                var now = timeProvider.GetUtcNow();
                if (await store.GetReservationAsync(e.ReservationId, cancellationToken) is { Status: ReservationStatus.Preparing or ReservationStatus.Active } r
                    && (r.History.Count == 0 || r.History[^1].Reason != e.Message))
                {
                    await store.AddNoteAsync(r.Id, r.Status, e.Message, now, cancellationToken);
                }

                return;
            case EnvironmentEventKind.Failed when e.ReservationId is not null:
                await FailAsync(e.ReservationId, e.Message, e.OnlyWhenActive, cancellationToken);
                return;
        }
    }

    private async Task FailAsync(string reservationId, string reason, bool onlyWhenActive, CancellationToken cancellationToken)
    {
        var reservation = await store.GetReservationAsync(reservationId, cancellationToken);
        if (reservation is not { Status: ReservationStatus.Preparing or ReservationStatus.Active } || (onlyWhenActive && reservation.Status != ReservationStatus.Active))
        {
            return;
        }

        var now = timeProvider.GetUtcNow();
        var transition = new ReservationTransition(reservation.Id, reservation.Status, ReservationStatus.Failed, reason, now)
        {
            EndedAt = now,
            FollowUp = new JobRequest(JobKind.Teardown, reservation.Id, now),
        };
        if (await store.TransitionAsync(transition, cancellationToken))
        {
            await audit.TransitionedAsync(Audit.AuditTrail.ProviderEvents, transition);
            LogFailed(logger, reservation.Id, reason);
            jobs.Signal.Notify();
        }
    }

    [LoggerMessage(EventId = 1900, Level = LogLevel.Warning, Message = "Reservation {ReservationId} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reservationId, string reason);

    [LoggerMessage(EventId = 1901, Level = LogLevel.Warning, Message = "The provider's event stream broke; reconnecting")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception);
}

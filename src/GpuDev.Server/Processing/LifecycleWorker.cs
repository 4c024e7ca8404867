using System.Globalization;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Audit;
using GpuDev.Core.Storage;
using GpuDev.Server.Audit;
using GpuDev.Server.Health;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Processing;

/// <summary>Ends reservations on time: active ones past their end time (+ grace) expire; preparing ones
/// past the prepare timeout fail and queued ones past the queue timeout are cancelled, with the reason.
/// All hand over to the teardown job.</summary>
internal sealed partial class LifecycleWorker(
    IReservationStore store,
    GpuDev.Core.Disks.IDiskStore disks,
    GpuDev.Core.Compute.IDiskProvider diskProvider,
    TimeProvider timeProvider,
    JobSignal jobs,
    WorkerLeaseKeeper leases,
    IOptions<ServerOptions> options,
    IAuditLog auditLog,
    AuditTrail audit,
    IOptions<AuditOptions> auditOptions,
    WorkerHeartbeats heartbeats,
    ILogger<LifecycleWorker> logger) : BackgroundService
{
    private static readonly TimeSpan s_purgeEvery = TimeSpan.FromHours(1);
    private DateTimeOffset _nextPurge = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PollInterval, timeProvider);
        do
        {
            heartbeats.Beat(WorkerHeartbeats.Lifecycle);
            try
            {
                if (await leases.HoldsAsync(WorkerLeaseKeeper.Lifecycle, stoppingToken))
                {
                    await RunOnceAsync(stoppingToken);
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogPassFailed(logger, e);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (now >= _nextPurge)
        {
            var purged = await auditLog.PurgeAsync(now - TimeSpan.FromDays(auditOptions.Value.RetentionDays), cancellationToken);
            _nextPurge = now + s_purgeEvery;
            if (purged > 0)
            {
                LogAuditPurged(logger, purged, auditOptions.Value.RetentionDays);
            }
        }

        foreach (var disk in await disks.ListPurgeableAsync(now, cancellationToken))
        {
            await diskProvider.PurgeAsync(disk.Id, cancellationToken);
            await disks.MarkPurgedAsync(disk.Id, now, cancellationToken);
            LogPurged(logger, disk.Name, disk.UserName);
        }

        var running = await store.ListReservationsAsync(new ReservationQuery(Statuses: [ReservationStatus.Active, ReservationStatus.Preparing, ReservationStatus.Pending, ReservationStatus.Queued]), cancellationToken);
        foreach (var reservation in running)
        {
            await WarnIfDueAsync(reservation, now, cancellationToken);
            var (to, reason) = reservation switch
            {
                { Status: ReservationStatus.Active, ExpiresAt: { } end } when now >= end + options.Value.ExpiryGrace =>
                    (ReservationStatus.Expired, "reached its end time"),
                { Status: ReservationStatus.Preparing } when now >= EnteredAt(reservation) + options.Value.PrepareTimeout =>
                    (ReservationStatus.Failed, $"still preparing after {options.Value.PrepareTimeout.TotalMinutes:0.#} minutes"),
                { Status: ReservationStatus.Pending or ReservationStatus.Queued } when now >= reservation.CreatedAt + options.Value.QueueTimeout =>
                    (ReservationStatus.Cancelled, $"waited in the queue longer than {options.Value.QueueTimeout.TotalHours:0.#} hours"),
                _ => ((ReservationStatus?)null, ""),
            };
            if (to is not { } target)
            {
                continue;
            }

            var transition = new ReservationTransition(reservation.Id, reservation.Status, target, reason, now)
            {
                EndedAt = now,
                FollowUp = new JobRequest(JobKind.Teardown, reservation.Id, now),
            };
            if (await store.TransitionAsync(transition, cancellationToken))
            {
                if (target == ReservationStatus.Expired)
                {
                    Faults.Steps.Reached(Faults.CrashSteps.AfterExpireCommitted);
                }

                await audit.TransitionedAsync(AuditTrail.Lifecycle, transition);
                LogEnded(logger, reservation.Id, target.ToWire(), reason);
                jobs.Signal.Notify();
            }
        }
    }

    private async Task WarnIfDueAsync(Reservation reservation, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var due = ReservationLimits.DueWarnings(reservation, now);
        if (due.Count == 0)
        {
            return;
        }

        var left = reservation.ExpiresAt!.Value - now;
        var minutes = Math.Max(1, (int)Math.Ceiling(left.TotalMinutes));
        var message = string.Create(CultureInfo.InvariantCulture,
            $"reservation {reservation.Id[..8]} expires in {minutes} minute{(minutes == 1 ? "" : "s")} (at {reservation.ExpiresAt:HH:mm} UTC); extend with: gpu-dev edit {reservation.Id[..8]} --extend");
        if (await store.RecordWarningsAsync(reservation.Id, due, due[0], message, now, new JobRequest(JobKind.Warn, reservation.Id, now), cancellationToken))
        {
            jobs.Signal.Notify();
        }
    }

    private static DateTimeOffset EnteredAt(Reservation reservation) =>
        reservation.History.LastOrDefault(h => h.To == reservation.Status)?.At ?? reservation.CreatedAt;

    [LoggerMessage(EventId = 1700, Level = LogLevel.Information, Message = "Reservation {ReservationId} {Status}: {Reason}")]
    private static partial void LogEnded(ILogger logger, string reservationId, string status, string reason);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Information, Message = "Deleted disk {Disk} of {User} purged: its data and snapshots are gone")]
    private static partial void LogPurged(ILogger logger, string disk, string user);

    [LoggerMessage(EventId = 1703, Level = LogLevel.Information, Message = "Purged {Count} audit entries older than {Days} days")]
    private static partial void LogAuditPurged(ILogger logger, int count, int days);

    [LoggerMessage(EventId = 1701, Level = LogLevel.Error, Message = "Lifecycle pass failed")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}

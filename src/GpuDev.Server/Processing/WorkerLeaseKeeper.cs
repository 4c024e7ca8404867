using System.Collections.Concurrent;
using GpuDev.Core.Jobs;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Processing;

/// <summary>Holds this replica's share of the singleton-worker leases (<see cref="Scheduler"/>, <see cref="Lifecycle"/>):
/// it tries to take or renew each every <c>LeaderLease / 6</c> and writes them for <c>LeaderLease * 2/3</c>, so after
/// the holder dies another replica takes over within <see cref="ServerOptions.LeaderLease"/>. The job worker needs no
/// lease of its own (every job is claimed with one) and runs on every replica.</summary>
internal sealed partial class WorkerLeaseKeeper(
    IWorkerLeases leases,
    TimeProvider timeProvider,
    IOptions<ServerOptions> options,
    ILogger<WorkerLeaseKeeper> logger) : BackgroundService
{
    public const string Scheduler = "scheduler";
    public const string Lifecycle = "lifecycle";

    private static readonly string[] s_names = [Scheduler, Lifecycle];
    private readonly ConcurrentDictionary<string, DateTimeOffset> _heldUntil = new(StringComparer.Ordinal);

    public string Owner { get; } = LeaseOwners.ForThisProcess();

    private TimeSpan Ttl => options.Value.LeaderLease * 2 / 3;

    /// <summary>True while this replica holds <paramref name="name"/>; takes it now when it is free.</summary>
    public async Task<bool> HoldsAsync(string name, CancellationToken cancellationToken) =>
        (_heldUntil.TryGetValue(name, out var until) && until > timeProvider.GetUtcNow()) || await TryAcquireAsync(name, cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.LeaderLease / 6, timeProvider);
        do
        {
            foreach (var name in s_names)
            {
                try
                {
                    await TryAcquireAsync(name, stoppingToken);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    _heldUntil.TryRemove(name, out _);
                    LogRenewFailed(logger, name, e);
                }
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        foreach (var name in _heldUntil.Keys)
        {
            try
            {
                // Hand over at once instead of making the next replica wait for the lease to run out.
                await leases.ReleaseAsync(name, Owner, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRenewFailed(logger, name, e);
            }
        }

        _heldUntil.Clear();
    }

    private async Task<bool> TryAcquireAsync(string name, CancellationToken cancellationToken)
    {
        var start = timeProvider.GetUtcNow();
        var held = await leases.TryAcquireAsync(name, Owner, Ttl, cancellationToken);
        var had = _heldUntil.TryGetValue(name, out var until) && until > start;
        if (held)
        {
            _heldUntil[name] = start + Ttl;
            if (!had)
            {
                LogAcquired(logger, name, Owner);
            }
        }
        else if (_heldUntil.TryRemove(name, out _) && had)
        {
            LogLost(logger, name);
        }

        return held;
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

    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "This replica runs the {Name} worker (lease owner {Owner})")]
    private static partial void LogAcquired(ILogger logger, string name, string owner);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "This replica lost the {Name} lease; another replica runs that worker now")]
    private static partial void LogLost(ILogger logger, string name);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Could not renew the {Name} lease")]
    private static partial void LogRenewFailed(ILogger logger, string name, Exception exception);
}

namespace GpuDev.Server.Processing;

/// <summary>Wakes a worker early (e.g. a reservation was created or GPUs were freed) instead of waiting for its next poll.</summary>
public sealed class WorkSignal
{
    private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _pending;

    /// <summary>Wakes the waiter now, or makes its next wait return at once (a notify is never lost).</summary>
    public void Notify()
    {
        Volatile.Write(ref _pending, 1);
        Interlocked.Exchange(ref _signal, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Returns when notified (since the last wait) or after <paramref name="timeout"/> on <paramref name="timeProvider"/>'s clock.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var signalled = Volatile.Read(ref _signal).Task;
        if (Interlocked.Exchange(ref _pending, 0) == 1)
        {
            return;
        }

        using var delayCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(timeout, timeProvider, delayCancel.Token);
        await Task.WhenAny(signalled, delay).ConfigureAwait(false);
        await delayCancel.CancelAsync().ConfigureAwait(false);
        Interlocked.Exchange(ref _pending, 0);
        cancellationToken.ThrowIfCancellationRequested();
    }
}

/// <summary>The scheduler's wake-up signal.</summary>
public sealed class SchedulerSignal
{
    public WorkSignal Signal { get; } = new();
}

/// <summary>The job worker's wake-up signal.</summary>
public sealed class JobSignal
{
    public WorkSignal Signal { get; } = new();
}

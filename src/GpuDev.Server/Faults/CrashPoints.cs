using System.Diagnostics;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Faults;

/// <summary>Test-only fault injection: when execution reaches the step named by <c>Server:CrashAt</c> (and
/// <c>Server:EnableFaultInjection</c> is true) the process SIGKILLs itself, as a power cut would: no shutdown,
/// no flush, no finally blocks. Off by default; the validator refuses CrashAt without the enable switch. It listens to
/// <see cref="Steps"/>, so the code it crashes never holds a reference to it.</summary>
internal sealed partial class CrashPoints(IOptions<ServerOptions> options, ILogger<CrashPoints> logger)
    : IHostedService, IObserver<DiagnosticListener>, IObserver<KeyValuePair<string, object?>>
{
    /// <summary>Written to stderr right before the kill, so a test can tell an injected crash from a real one.</summary>
    public const string Marker = "gpu-dev-server: injected crash at ";

    private readonly List<IDisposable> _subscriptions = [];

    public void Reach(string step)
    {
        var settings = options.Value;
        if (!settings.EnableFaultInjection || !string.Equals(settings.CrashAt, step, StringComparison.Ordinal))
        {
            return;
        }

        LogCrashing(logger, step);
        Console.Error.WriteLine(Marker + step);
        Console.Error.Flush();
        using var self = Process.GetCurrentProcess();
        self.Kill();
        Thread.Sleep(Timeout.Infinite);
    }

    /// <summary>Starts listening; registered as the first hosted service, so before any worker runs.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.EnableFaultInjection)
        {
            _subscriptions.Add(DiagnosticListener.AllListeners.Subscribe(this));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_subscriptions)
        {
            _subscriptions.ForEach(s => s.Dispose());
            _subscriptions.Clear();
        }

        return Task.CompletedTask;
    }

    void IObserver<DiagnosticListener>.OnNext(DiagnosticListener value)
    {
        if (value.Name == Steps.ListenerName)
        {
            lock (_subscriptions)
            {
                _subscriptions.Add(value.Subscribe(this, step => string.Equals(step, options.Value.CrashAt, StringComparison.Ordinal)));
            }
        }
    }

    void IObserver<KeyValuePair<string, object?>>.OnNext(KeyValuePair<string, object?> value) => Reach(value.Key);

    void IObserver<DiagnosticListener>.OnCompleted()
    {
    }

    void IObserver<DiagnosticListener>.OnError(Exception error)
    {
    }

    void IObserver<KeyValuePair<string, object?>>.OnCompleted()
    {
    }

    void IObserver<KeyValuePair<string, object?>>.OnError(Exception error)
    {
    }

    [LoggerMessage(EventId = 1950, Level = LogLevel.Critical, Message = "Fault injection: killing the server at step {Step}")]
    private static partial void LogCrashing(ILogger logger, string step);
}

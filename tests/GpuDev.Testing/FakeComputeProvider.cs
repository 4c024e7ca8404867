using System.Collections.Concurrent;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;

namespace GpuDev.Testing;

/// <summary>An in-memory provider: environments are records, Ready at once unless told otherwise.</summary>
public sealed class FakeComputeProvider(params ComputeNode[] nodes) : IComputeProvider, IEnvironmentEvents
{
    private readonly System.Threading.Channels.Channel<EnvironmentEvent> _events = System.Threading.Channels.Channel.CreateUnbounded<EnvironmentEvent>();

    private int _nextPort = 40000;

    public ConcurrentDictionary<string, EnvironmentSpec> Environments { get; } = new();

    public ConcurrentBag<string> Removed { get; } = [];

    /// <summary>When set, EnsureEnvironmentAsync reports this state (e.g. Failed) instead of Ready.</summary>
    public EnvironmentStatus? NextStatus { get; set; }

    public string Name => "fake";

    public bool SupportsCustomImages { get; set; }

    public bool SupportsBuildContexts { get; set; }

    /// <summary>What DiscoverNodesAsync returns; change it and <see cref="Raise"/> a NodesChanged event to resize the fleet.</summary>
    public IReadOnlyList<ComputeNode> Nodes { get; set; } = nodes;

    public Task<IReadOnlyList<ComputeNode>> DiscoverNodesAsync(CancellationToken cancellationToken) =>
        Task.FromResult(Nodes);

    /// <summary>Sends an event to the server's event worker, as a provider watch would.</summary>
    public void Raise(EnvironmentEvent e) => _events.Writer.TryWrite(e);

    public IAsyncEnumerable<EnvironmentEvent> WatchAsync(CancellationToken cancellationToken) => _events.Reader.ReadAllAsync(cancellationToken);

    private int _ensureCalls;

    /// <summary>How many times EnsureEnvironmentAsync was called.</summary>
    public int EnsureCalls => Volatile.Read(ref _ensureCalls);

    public Task<EnvironmentStatus> EnsureEnvironmentAsync(EnvironmentSpec spec, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _ensureCalls);
        if (NextStatus is { } forced)
        {
            return Task.FromResult(forced);
        }

        Environments[spec.ReservationId] = spec;
        var port = Interlocked.Increment(ref _nextPort);
        return Task.FromResult(new EnvironmentStatus(EnvironmentState.Ready, new SshEndpoint("127.0.0.1", port, "dev", "ssh-ed25519 AAAAfake")));
    }

    public Task<EnvironmentStatus> GetEnvironmentAsync(string reservationId, CancellationToken cancellationToken) =>
        Task.FromResult(Environments.ContainsKey(reservationId)
            ? new EnvironmentStatus(EnvironmentState.Ready, null)
            : new EnvironmentStatus(EnvironmentState.Absent, null));

    /// <summary>When set, removing an environment fails with it (a teardown that keeps failing: the GPUs stay held).</summary>
    public Exception? RemoveFails { get; set; }

    public Task RemoveEnvironmentAsync(string reservationId, CancellationToken cancellationToken)
    {
        if (RemoveFails is { } fails)
        {
            return Task.FromException(fails);
        }

        Environments.TryRemove(reservationId, out _);
        Removed.Add(reservationId);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> ListEnvironmentsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<string>>([.. Environments.Keys]);

    /// <summary>Warnings delivered: (reservation, file name, message).</summary>
    public ConcurrentQueue<(string ReservationId, string FileName, string Message)> Warnings { get; } = new();

    public ConcurrentBag<string> ClearedWarnings { get; } = [];

    public ConcurrentDictionary<string, JupyterEndpoint> Jupyter { get; } = new();

    /// <summary>When set, StartJupyterAsync fails with this message.</summary>
    public string? JupyterUnavailable { get; set; }

    public Task DeliverWarningAsync(string reservationId, string fileName, string message, CancellationToken cancellationToken)
    {
        Warnings.Enqueue((reservationId, fileName, message));
        return Task.CompletedTask;
    }

    public Task ClearWarningsAsync(string reservationId, CancellationToken cancellationToken)
    {
        ClearedWarnings.Add(reservationId);
        return Task.CompletedTask;
    }

    public Task<JupyterEndpoint> StartJupyterAsync(string reservationId, CancellationToken cancellationToken) =>
        JupyterUnavailable is { } why
            ? throw new EnvironmentUnavailableException(why)
            : Task.FromResult(Jupyter.GetOrAdd(reservationId, id => new JupyterEndpoint($"http://127.0.0.1:41000/lab?token=tok-{id[..8]}", $"tok-{id[..8]}")));

    public Task StopJupyterAsync(string reservationId, CancellationToken cancellationToken)
    {
        Jupyter.TryRemove(reservationId, out _);
        return Task.CompletedTask;
    }
}

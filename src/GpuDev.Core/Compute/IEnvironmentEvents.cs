namespace GpuDev.Core.Compute;

/// <summary>Implemented by providers that learn on their own when an environment breaks or the fleet changes (e.g. a
/// Kubernetes watch on pods and nodes). The server turns the events into durable state changes.</summary>
public interface IEnvironmentEvents
{
    /// <summary>Events as they happen, until cancelled. A provider may repeat an event; consumers are idempotent.</summary>
    IAsyncEnumerable<EnvironmentEvent> WatchAsync(CancellationToken cancellationToken);
}

public enum EnvironmentEventKind
{
    /// <summary>The environment of <see cref="EnvironmentEvent.ReservationId"/> is broken for good (pod evicted, node gone).</summary>
    Failed,

    /// <summary>Something the user should see while it starts (image pull error, unschedulable pod, build step).</summary>
    Progress,

    /// <summary>Nodes or their capacity changed: discover them again.</summary>
    NodesChanged,
}

public sealed record EnvironmentEvent(EnvironmentEventKind Kind, string? ReservationId, string Message)
{
    /// <summary>A failure that counts only for an active reservation (e.g. its pod was deleted: while preparing, that
    /// may be a provisioning retry of another replica).</summary>
    public bool OnlyWhenActive { get; init; }
}

namespace GpuDev.Core.Compute;

/// <summary>Where reservations run: the local host, or a Kubernetes cluster. Every method is idempotent and
/// safe to call again after a crash; environments are named after the reservation id only.</summary>
public interface IComputeProvider
{
    /// <summary>Short name shown to users, e.g. <c>local</c>.</summary>
    string Name { get; }

    /// <summary>Whether the provider can honour custom images (<c>--dockerimage</c>/<c>--dockerfile</c>).</summary>
    bool SupportsCustomImages { get; }

    /// <summary>Whether <c>--dockerfile</c> builds may use an uploaded build context (the files next to the Dockerfile).</summary>
    bool SupportsBuildContexts => false;

    /// <summary>The nodes and GPUs this provider offers now.</summary>
    Task<IReadOnlyList<ComputeNode>> DiscoverNodesAsync(CancellationToken cancellationToken);

    /// <summary>Creates the environment if it does not exist yet and starts it; returns its state (usually Starting or Ready).</summary>
    Task<EnvironmentStatus> EnsureEnvironmentAsync(EnvironmentSpec spec, CancellationToken cancellationToken);

    /// <summary>Reports the state; <see cref="EnvironmentState.Ready"/> only after a real SSH handshake to it succeeded.</summary>
    Task<EnvironmentStatus> GetEnvironmentAsync(string reservationId, CancellationToken cancellationToken);

    /// <summary>Stops every process of the environment and removes everything the provider created for it.
    /// Succeeds when nothing exists.</summary>
    Task RemoveEnvironmentAsync(string reservationId, CancellationToken cancellationToken);

    /// <summary>Ids of every environment the provider holds now (for reconciliation after a restart).</summary>
    Task<IReadOnlyList<string>> ListEnvironmentsAsync(CancellationToken cancellationToken);

    /// <summary>Delivers an expiry warning: writes <paramref name="fileName"/> (e.g. <c>EXPIRES_IN_15_MIN</c>) with
    /// <paramref name="message"/> into the home of every node, and writes the message to every terminal open
    /// in the environment (wall-style). Safe to repeat.</summary>
    Task DeliverWarningAsync(string reservationId, string fileName, string message, CancellationToken cancellationToken);

    /// <summary>Removes every expiry-warning file (<c>EXPIRES_IN_*</c>) from the homes, e.g. after an extension.</summary>
    Task ClearWarningsAsync(string reservationId, CancellationToken cancellationToken);

    /// <summary>Starts Jupyter (Lab where installed, else Notebook) inside the environment as its user, with a random
    /// token on a port from the provider's range; returns the URL. Idempotent: a running one is returned as is.
    /// Throws <see cref="EnvironmentUnavailableException"/> when Jupyter cannot run here.</summary>
    Task<JupyterEndpoint> StartJupyterAsync(string reservationId, CancellationToken cancellationToken);

    /// <summary>Stops Jupyter if it runs. Idempotent.</summary>
    Task StopJupyterAsync(string reservationId, CancellationToken cancellationToken);
}

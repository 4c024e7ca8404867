namespace GpuDev.Testing.Kubernetes;

/// <summary>What the fake kubelet runs for a pod: real containers (<see cref="PodmanBackend"/>) or, where podman or the
/// default image is missing, a host sshd per environment pod (<see cref="SshdBackend"/>).</summary>
public interface IPodBackend : IAsyncDisposable
{
    /// <summary><c>podman</c> or <c>sshd</c>.</summary>
    string Name { get; }

    /// <summary>Pods with something running, by namespace/name.</summary>
    IReadOnlyCollection<string> Running { get; }
}

/// <summary>Chooses the backend once, at start: podman when it and <see cref="PodmanBackend.DefaultImage"/> are here, else sshd.</summary>
public static class PodBackends
{
    /// <summary>Why neither backend can run here, or null.</summary>
    public static string? UnavailableReason => PodmanBackend.UnavailableReason is null ? null : SshdBackend.UnavailableReason;

    /// <summary>True when pods run as real containers of <see cref="PodmanBackend.DefaultImage"/>.</summary>
    public static bool Containers => PodmanBackend.UnavailableReason is null;

    public static IPodBackend Start(FakeKubernetesServer server) =>
        Containers ? new PodmanBackend(server) : new SshdBackend(server);
}

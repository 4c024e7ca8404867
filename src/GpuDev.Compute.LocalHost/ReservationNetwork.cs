namespace GpuDev.Compute.LocalHost;

/// <summary>The reservation's own podman network, where its ranks resolve each other by host name and port 29500 is
/// private to them; as root also kept away from every other container (<see cref="NetworkIsolation"/>). Labelled like the
/// containers, so a network left by a crash is found and removed.</summary>
internal sealed class ReservationNetwork(Podman podman, LocalHostOptions options, string instance, bool rootless)
{
    private NetworkIsolation? _isolation;

    private NetworkIsolation Isolation => LazyInitializer.EnsureInitialized(ref _isolation, () => new NetworkIsolation(podman, options));

    /// <param name="fresh">True when the environment was just recorded, so the network cannot exist yet (no need to ask podman first).</param>
    public async Task EnsureAsync(string reservationId, EnvironmentLayout layout, bool fresh, CancellationToken cancellationToken)
    {
        if (fresh || !await podman.NetworkExistsAsync(layout.Network, cancellationToken).ConfigureAwait(false))
        {
            var created = await podman.RunAsync(
                ["network", "create", "--label", EnvironmentLayout.ReservationLabel + "=" + reservationId,
                 "--label", EnvironmentLayout.InstanceLabel + "=" + instance, layout.Network], cancellationToken).ConfigureAwait(false);
            if (!created.Succeeded && !await podman.NetworkExistsAsync(layout.Network, cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException(created.Describe("podman network create") + Podman.Detail(created));
            }
        }

        if (!rootless)
        {
            await Isolation.IsolateAsync(reservationId, layout.Network, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Removes the network (nothing when it is gone) and, as root, its isolation rules.</summary>
    public async Task RemoveAsync(string reservationId, EnvironmentLayout layout, CancellationToken cancellationToken)
    {
        var network = await podman.RunAsync(["network", "rm", "--force", layout.Network], cancellationToken).ConfigureAwait(false);
        if (!network.Succeeded && !Podman.IsNoSuch(network))
        {
            throw new InvalidOperationException(network.Describe("podman network rm") + Podman.Detail(network));
        }

        if (!rootless)
        {
            await Isolation.RemoveAsync(reservationId, cancellationToken).ConfigureAwait(false);
        }
    }
}

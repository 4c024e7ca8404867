using GpuDev.Core.Catalog;
using GpuDev.Testing.Kubernetes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.Kubernetes.Tests;

/// <summary>A fake API server with four 8-GPU h100 nodes (p5.48xlarge, 32 EFA each) whose kubelet runs pods as podman
/// containers of the devbox image (or, without podman, a host sshd per environment pod), and the provider on the
/// official client pointed at it.</summary>
public sealed class FakeClusterFixture : IAsyncDisposable
{
    private FakeClusterFixture(FakeKubernetesServer server, IPodBackend backend, KubernetesOptions options)
    {
        Server = server;
        Backend = backend;
        Options = options;
        Client = new k8s.Kubernetes(server.ClientConfiguration);
        Provider = new KubernetesProvider(Client, Microsoft.Extensions.Options.Options.Create(options), GpuCatalog.Default, TimeProvider.System, NullLogger<KubernetesProvider>.Instance);
        Disks = new KubernetesDiskProvider(Client, Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System);
    }

    public FakeKubernetesServer Server { get; }

    public IPodBackend Backend { get; }

    public KubernetesOptions Options { get; }

    public IKubernetes Client { get; }

    public KubernetesProvider Provider { get; }

    public KubernetesDiskProvider Disks { get; }

    public static async Task<FakeClusterFixture> StartAsync(Action<KubernetesOptions>? configure = null, int nodes = 4)
    {
        if (PodBackends.UnavailableReason is { } reason)
        {
            TestSkips.Skip($"Kubernetes provider tests against the fake cluster: {reason}.");
        }

        var server = await FakeKubernetesServer.StartAsync();
        for (var i = 0; i < nodes; i++)
        {
            server.AddNode($"gpu-{i}", 8, efa: 32);
        }

        var options = new KubernetesOptions { ReadyWait = TimeSpan.FromSeconds(10) };
        if (PodBackends.Containers)
        {
            options.DefaultImage = PodmanBackend.DefaultImage;
            options.ToolsImage = PodmanBackend.DefaultImage;
        }

        configure?.Invoke(options);
        return new FakeClusterFixture(server, PodBackends.Start(server), options);
    }

    public async ValueTask DisposeAsync()
    {
        await Backend.DisposeAsync();
        await Server.DisposeAsync();
        Client.Dispose();
    }
}

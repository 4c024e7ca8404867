using GpuDev.Core.Catalog;
using GpuDev.Testing.Kubernetes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.Kubernetes.Tests;

/// <summary>A fake API server with four 8-GPU h100 nodes (p5.48xlarge, 32 EFA each), a real sshd per running environment
/// pod, and the provider on the official client pointed at it.</summary>
public sealed class FakeClusterFixture : IAsyncDisposable
{
    private FakeClusterFixture(FakeKubernetesServer server, SshdBackend sshd, KubernetesOptions options)
    {
        Server = server;
        Sshd = sshd;
        Options = options;
        Client = new k8s.Kubernetes(server.ClientConfiguration);
        Provider = new KubernetesProvider(Client, Microsoft.Extensions.Options.Options.Create(options), GpuCatalog.Default, TimeProvider.System, NullLogger<KubernetesProvider>.Instance);
        Disks = new KubernetesDiskProvider(Client, Microsoft.Extensions.Options.Options.Create(options), TimeProvider.System);
    }

    public FakeKubernetesServer Server { get; }

    public SshdBackend Sshd { get; }

    public KubernetesOptions Options { get; }

    public IKubernetes Client { get; }

    public KubernetesProvider Provider { get; }

    public KubernetesDiskProvider Disks { get; }

    public static async Task<FakeClusterFixture> StartAsync(Action<KubernetesOptions>? configure = null, int nodes = 4)
    {
        if (SshdBackend.UnavailableReason is { } reason)
        {
            Assert.Skip($"Kubernetes provider tests against the fake cluster: {reason}.");
        }

        var server = await FakeKubernetesServer.StartAsync();
        for (var i = 0; i < nodes; i++)
        {
            server.AddNode($"gpu-{i}", 8, efa: 32);
        }

        var options = new KubernetesOptions { ReadyWait = TimeSpan.FromSeconds(10) };
        configure?.Invoke(options);
        return new FakeClusterFixture(server, new SshdBackend(server), options);
    }

    public async ValueTask DisposeAsync()
    {
        await Sshd.DisposeAsync();
        await Server.DisposeAsync();
        Client.Dispose();
    }
}

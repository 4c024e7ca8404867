using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDev.Compute.Kubernetes.Tests;

/// <summary>The provider against a real cluster, when <c>KUBECONFIG</c> is set (EKS, kind, …; see
/// deploy/kubernetes/README.md). Uses namespace <c>GPUDEV_TEST_NAMESPACE</c> (default <c>gpu-dev-test</c>), which must
/// exist, and the image <c>GPUDEV_TEST_IMAGE</c> (default: the provider's default dev image). On a cluster without GPU
/// nodes, label a node <c>gpu-dev.io/gpu-type=cpu-x86</c> and set <c>GPUDEV_TEST_GPU_TYPE_LABEL=gpu-dev.io/gpu-type</c>.
/// The test machine must reach the nodes' InternalIP (or set <c>GPUDEV_TEST_NODE_ADDRESS=ExternalIP</c>).</summary>
public sealed class RealClusterTests(ITestOutputHelper output)
{
    private static KubernetesOptions Options() => new()
    {
        Kubeconfig = Environment.GetEnvironmentVariable("KUBECONFIG"),
        Namespace = Environment.GetEnvironmentVariable("GPUDEV_TEST_NAMESPACE") ?? "gpu-dev-test",
        DefaultImage = Environment.GetEnvironmentVariable("GPUDEV_TEST_IMAGE") ?? new KubernetesOptions().DefaultImage,
        GpuTypeLabel = Environment.GetEnvironmentVariable("GPUDEV_TEST_GPU_TYPE_LABEL"),
        NodeAddressType = Environment.GetEnvironmentVariable("GPUDEV_TEST_NODE_ADDRESS") ?? "InternalIP",
        ReadyWait = TimeSpan.FromSeconds(30),
    };

    private static void RequireCluster()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("KUBECONFIG")))
        {
            TestSkips.Skip(TestSkips.Allowed.NoKubeconfig, "Real-cluster provider tests: KUBECONFIG is not set (run `KUBECONFIG=~/.kube/config ./test.sh`; see deploy/kubernetes/README.md).");
        }
    }

    [Fact]
    public async Task RealCluster_DiscoverEnsureHandshakeRemove()
    {
        RequireCluster();
        var options = Options();
        using var client = new k8s.Kubernetes(KubernetesComputeExtensions.ClientConfiguration(options));
        var provider = new KubernetesProvider(client, Microsoft.Extensions.Options.Options.Create(options), GpuCatalog.Default, TimeProvider.System, NullLogger<KubernetesProvider>.Instance);
        var ct = TestContext.Current.CancellationToken;

        var nodes = await provider.DiscoverNodesAsync(ct);
        output.WriteLine(string.Join(", ", nodes.Select(n => $"{n.Name} {n.GpuType}:{n.GpuCount}")));
        var node = Assert.Single(nodes.OrderByDescending(n => n.GpuCount).Take(1));
        var id = Guid.NewGuid().ToString("N");
        var key = await File.ReadAllTextAsync(Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".ssh", "id_ed25519.pub"), ct);
        var spec = new EnvironmentSpec
        {
            ReservationId = id,
            Owner = "realtest",
            AuthorizedKeys = [key.Trim()],
            GpuType = node.GpuType,
            Allocations = [new NodeAllocation(0, node.Name, node.GpuCount > 0 ? [0] : [])],
        };
        try
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
            EnvironmentStatus status;
            do
            {
                status = await provider.EnsureEnvironmentAsync(spec, ct);
                output.WriteLine($"{DateTime.UtcNow:HH:mm:ss} {status.State} {status.Message}");
            }
            while (status.State == EnvironmentState.Starting && DateTime.UtcNow < deadline);

            Assert.Equal(EnvironmentState.Ready, status.State);
            Assert.Contains(id, await provider.ListEnvironmentsAsync(ct));
        }
        finally
        {
            await provider.RemoveEnvironmentAsync(id, ct);
        }

        Assert.DoesNotContain(id, await provider.ListEnvironmentsAsync(ct));
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using k8s;
using k8s.Models;
using static GpuDev.Testing.Kubernetes.Tests.TestSupport;

namespace GpuDev.Testing.Kubernetes.Tests;

public sealed class ServiceAndVolumeTests
{
    private static V1Service Service(string name, string type, int? nodePort = null, string? clusterIp = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1ServiceSpec
        {
            Type = type,
            ClusterIP = clusterIp,
            Selector = new Dictionary<string, string> { ["app"] = name },
            Ports = [new V1ServicePort { Name = "ssh", Port = 22, NodePort = nodePort }],
        },
    };

    [Fact]
    public async Task NodePort_services_get_free_ports_from_the_range_and_a_taken_port_is_422()
    {
        await using var server = await FakeKubernetesServer.StartAsync(new FakeClusterOptions { NodePortRange = (31000, 31099) }, Ct);
        var client = server.Client();

        var svc = await client.CoreV1.CreateNamespacedServiceAsync(Service("ssh-a", "NodePort"), Ns, cancellationToken: Ct);
        var port = svc.Spec.Ports.Single();
        Assert.InRange(port.NodePort!.Value, 31000, 31099);
        Assert.Equal("TCP", port.Protocol);
        Assert.Equal("22", port.TargetPort.Value);
        Assert.StartsWith("10.96.", svc.Spec.ClusterIP, StringComparison.Ordinal);

        // The port is free on 127.0.0.1, so a test can serve on it.
        using (var listener = new TcpListener(IPAddress.Loopback, port.NodePort.Value))
        {
            listener.Start();
            listener.Stop();
        }

        var conflict = await ExpectStatusAsync(HttpStatusCode.UnprocessableEntity,
            () => client.CoreV1.CreateNamespacedServiceAsync(Service("ssh-b", "NodePort", port.NodePort), Ns, cancellationToken: Ct));
        Assert.Equal("Invalid", conflict.Reason);
        Assert.Contains("provided port is already allocated", conflict.Message, StringComparison.Ordinal);

        var outOfRange = await ExpectStatusAsync(HttpStatusCode.UnprocessableEntity,
            () => client.CoreV1.CreateNamespacedServiceAsync(Service("ssh-c", "NodePort", 30000), Ns, cancellationToken: Ct));
        Assert.Contains("31000-31099", outOfRange.Message, StringComparison.Ordinal);

        var explicitPort = await client.CoreV1.CreateNamespacedServiceAsync(Service("ssh-d", "NodePort", 31050 == port.NodePort ? 31051 : 31050), Ns, cancellationToken: Ct);
        Assert.NotEqual(port.NodePort, explicitPort.Spec.Ports[0].NodePort);

        // A port somebody listens on is skipped.
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var busyPort = ((IPEndPoint)busy.LocalEndpoint).Port;
        await using var narrow = await FakeKubernetesServer.StartAsync(new FakeClusterOptions { NodePortRange = (busyPort, busyPort) }, Ct);
        await ExpectStatusAsync(HttpStatusCode.InternalServerError,
            () => narrow.Client().CoreV1.CreateNamespacedServiceAsync(Service("full", "NodePort"), Ns, cancellationToken: Ct));

        var deleted = await client.CoreV1.DeleteNamespacedServiceAsync("ssh-a", Ns, cancellationToken: Ct);
        Assert.Equal("ssh-a", deleted.Metadata.Name);
        var reused = await client.CoreV1.CreateNamespacedServiceAsync(Service("ssh-e", "NodePort", port.NodePort), Ns, cancellationToken: Ct);
        Assert.Equal(port.NodePort, reused.Spec.Ports[0].NodePort);
    }

    [Fact]
    public async Task ClusterIP_and_headless_services_keep_their_shape()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        var plain = await client.CoreV1.CreateNamespacedServiceAsync(Service("plain", "ClusterIP"), Ns, cancellationToken: Ct);
        Assert.Null(plain.Spec.Ports[0].NodePort);
        Assert.NotEqual("None", plain.Spec.ClusterIP);

        var headless = await client.CoreV1.CreateNamespacedServiceAsync(Service("headless", "ClusterIP", clusterIp: "None"), Ns, cancellationToken: Ct);
        Assert.Equal("None", headless.Spec.ClusterIP);

        var bad = await ExpectStatusAsync(HttpStatusCode.UnprocessableEntity,
            () => client.CoreV1.CreateNamespacedServiceAsync(Service("1bad", "ClusterIP"), Ns, cancellationToken: Ct));
        Assert.Contains("DNS-1035", bad.Message, StringComparison.Ordinal);
    }

    private static V1PersistentVolumeClaim Claim(string name, string size, string? fromSnapshot = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1PersistentVolumeClaimSpec
        {
            AccessModes = ["ReadWriteOnce"],
            StorageClassName = "gp3",
            Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(size) } },
            DataSource = fromSnapshot is null ? null : new V1TypedLocalObjectReference { ApiGroup = "snapshot.storage.k8s.io", Kind = "VolumeSnapshot", Name = fromSnapshot },
        },
    };

    private static object Snapshot(string name, string pvc) => new Dictionary<string, object>
    {
        ["apiVersion"] = "snapshot.storage.k8s.io/v1",
        ["kind"] = "VolumeSnapshot",
        ["metadata"] = new Dictionary<string, object> { ["name"] = name },
        ["spec"] = new Dictionary<string, object>
        {
            ["volumeSnapshotClassName"] = "csi",
            ["source"] = new Dictionary<string, object> { ["persistentVolumeClaimName"] = pvc },
        },
    };

    [Fact]
    public async Task Pvcs_bind_and_a_pvc_from_a_snapshot_waits_until_the_snapshot_is_ready()
    {
        await using var server = await FakeKubernetesServer.StartAsync(new FakeClusterOptions { StartDelay = TimeSpan.FromMilliseconds(300) }, Ct);
        var client = server.Client();

        await client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(Claim("disk", "100Gi"), Ns, cancellationToken: Ct);
        var bound = await EventuallyAsync(() => client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("disk", Ns, cancellationToken: Ct),
            p => p.Status?.Phase == "Bound", "pvc bound");
        Assert.Equal("100Gi", bound.Status.Capacity["storage"].ToString());
        Assert.False(string.IsNullOrEmpty(bound.Spec.VolumeName));

        // A claim from a snapshot that does not exist yet stays Pending with an event.
        await client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(Claim("restored", "100Gi", fromSnapshot: "snap"), Ns, cancellationToken: Ct);
        var events = await EventuallyAsync(() => client.CoreV1.ListNamespacedEventAsync(Ns, fieldSelector: "involvedObject.name=restored,reason=ProvisioningFailed", cancellationToken: Ct),
            l => l.Items.Count > 0, "provisioning failure event");
        Assert.Contains("not found", events.Items[0].Message, StringComparison.Ordinal);
        Assert.Equal("Pending", (await client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("restored", Ns, cancellationToken: Ct)).Status.Phase);

        await client.CustomObjects.CreateNamespacedCustomObjectAsync(Snapshot("snap", "disk"), "snapshot.storage.k8s.io", "v1", Ns, "volumesnapshots", cancellationToken: Ct);
        var snap = await EventuallyAsync(async () => (JsonElement)await client.CustomObjects.GetNamespacedCustomObjectAsync("snapshot.storage.k8s.io", "v1", Ns, "volumesnapshots", "snap", Ct),
            s => s.TryGetProperty("status", out var st) && st.TryGetProperty("readyToUse", out var r) && r.GetBoolean(), "snapshot ready");
        Assert.Equal("100Gi", snap.GetProperty("status").GetProperty("restoreSize").GetString());
        Assert.StartsWith("snapcontent-", snap.GetProperty("status").GetProperty("boundVolumeSnapshotContentName").GetString(), StringComparison.Ordinal);

        await EventuallyAsync(() => client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync("restored", Ns, cancellationToken: Ct),
            p => p.Status?.Phase == "Bound", "restored pvc bound");

        var list = (JsonElement)await client.CustomObjects.ListNamespacedCustomObjectAsync("snapshot.storage.k8s.io", "v1", Ns, "volumesnapshots", cancellationToken: Ct);
        Assert.Equal(1, list.GetProperty("items").GetArrayLength());
        await client.CustomObjects.DeleteNamespacedCustomObjectAsync("snapshot.storage.k8s.io", "v1", Ns, "volumesnapshots", "snap", cancellationToken: Ct);
        Assert.Null(server.Get("volumesnapshots", Ns, "snap"));

        await ExpectStatusAsync(HttpStatusCode.UnprocessableEntity,
            () => client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim { Metadata = new V1ObjectMeta { Name = "nosize" }, Spec = new V1PersistentVolumeClaimSpec { AccessModes = ["ReadWriteOnce"] } }, Ns, cancellationToken: Ct));
    }
}

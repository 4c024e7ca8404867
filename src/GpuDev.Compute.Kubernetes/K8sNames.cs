using System.Text.RegularExpressions;

namespace GpuDev.Compute.Kubernetes;

/// <summary>Deterministic names and labels of everything gpu-dev creates, derived from ids only, so every create is safe
/// to repeat (409 means it is already there) and everything of a reservation is found by one label selector.</summary>
internal static partial class K8sNames
{
    /// <summary>Where the static sshd of <c>Kubernetes:StaticSshdImage</c> is put for images without one.</summary>
    public const string ToolsPath = "/gpu-dev/bin";

    public const string ManagedBy = "app.kubernetes.io/managed-by";
    public const string ManagedByValue = "gpu-dev";
    public const string Reservation = "gpu-dev.io/reservation";
    public const string Rank = "gpu-dev.io/rank";
    public const string Role = "gpu-dev.io/role";
    public const string Disk = "gpu-dev.io/disk";
    public const string Owner = "gpu-dev.io/owner";
    public const string Gpu = "nvidia.com/gpu";
    public const string Efa = "vpc.amazonaws.com/efa";
    public const string InstanceTypeLabel = "node.kubernetes.io/instance-type";
    public const string HostnameLabel = "kubernetes.io/hostname";
    public const string NamespaceNameLabel = "kubernetes.io/metadata.name";

    /// <summary>The label of the server's own pods (deploy/kubernetes/base/deployment.yaml), let in to sshd for the handshake.</summary>
    public const string AppName = "app.kubernetes.io/name";
    public const string ServerAppName = "gpu-dev-server";

    public const string EnvironmentRole = "environment";
    public const string BuildRole = "build";
    public const string ListerRole = "disk-list";

    /// <summary>Placeholder pods of a request that waits for new nodes (<see cref="NodeGroups"/>).</summary>
    public const string DemandRole = "demand";

    /// <summary>The node group a placeholder pod asks to grow.</summary>
    public const string NodeGroup = "gpu-dev.io/node-group";

    /// <summary>The default label that recognises an EKS managed node group's nodes (its value is the group's name).</summary>
    public const string EksNodeGroupLabel = "eks.amazonaws.com/nodegroup";

    public static string ManagedSelector => $"{ManagedBy}={ManagedByValue}";

    public static string OfReservation(string id) => $"{ManagedBy}={ManagedByValue},{Reservation}={Checked(id)}";

    public static string Base(string id) => $"gpudev-{Checked(id)}";

    public static string Pod(string id, int rank) => $"{Base(id)}-{rank}";

    public static string SshService(string id, int rank) => $"{Pod(id, rank)}-ssh";

    /// <summary>Per-rank headless service: <c>&lt;pod&gt;-headless.&lt;ns&gt;.svc.cluster.local</c> resolves to that pod.</summary>
    public static string Headless(string id, int rank) => $"{Pod(id, rank)}-headless";

    public static string JupyterService(string id) => $"{Base(id)}-jupyter";

    /// <summary>The reservation's NetworkPolicy: its ranks talk to each other, ssh/Jupyter come in, the internet (not the
    /// cluster's ranges or the metadata endpoint) goes out.</summary>
    public static string NetworkPolicy(string id) => $"{Base(id)}-net";

    public static string Secret(string id) => $"{Base(id)}-keys";

    public static string Config(string id) => $"{Base(id)}-config";

    /// <summary>The per-reservation ReadWriteMany claim behind <c>/shared</c> (multinode, without <c>Kubernetes:SharedClaim</c>).</summary>
    public static string SharedClaim(string id) => $"{Base(id)}-shared";

    /// <summary>The short-lived pod (and its claim from the snapshot) that lists a snapshot's files.</summary>
    public static string SnapshotLister(string snapshotId) => $"gpudev-snap-{Checked(snapshotId)}-list";

    public static string Build(string id) => $"{Base(id)}-build";

    /// <summary>The <paramref name="index"/>th placeholder pod of a request that waits for new nodes.</summary>
    public static string Demand(string id, int index) => $"{Base(id)}-demand-{index.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>Where a reservation's <c>--dockerfile</c> image goes: <c>&lt;BuildRegistry&gt;/gpu-dev-build/&lt;id&gt;</c>, a
    /// repository per build, so per-build registry credentials can be scoped to it.</summary>
    public static string BuiltRepository(string? buildRegistry, string id) => $"{buildRegistry?.Trim().TrimEnd('/')}/gpu-dev-build/{Checked(id)}";

    /// <summary>The build's registry credentials (<c>Kubernetes:BuildRegistryAuth=token</c>), also the pods' image pull secret.</summary>
    public static string BuildAuth(string id) => $"{Base(id)}-build-auth";

    public static string DiskClaim(string diskId) => $"gpudev-disk-{Checked(diskId)}";

    public static string Snapshot(string snapshotId) => $"gpudev-snap-{Checked(snapshotId)}";

    public static bool IsDnsLabel(string? value) => value is { Length: > 0 and <= 63 } && DnsLabel().IsMatch(value);

    /// <summary>A label value: empty, or at most 63 of [A-Za-z0-9._-] starting and ending with a letter or digit.</summary>
    public static bool IsLabelValue(string? value) => value is not null && (value.Length == 0 || (value.Length <= 63 && LabelName().IsMatch(value)));

    /// <summary>A label key: an optional DNS subdomain prefix and <c>/</c>, then a name as for <see cref="IsLabelValue"/> (not empty).</summary>
    public static bool IsLabelKey(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return false;
        }

        var slash = key.LastIndexOf('/');
        var name = key[(slash + 1)..];
        var prefix = slash < 0 ? null : key[..slash];
        return name.Length is > 0 and <= 63 && LabelName().IsMatch(name)
            && (prefix is null || (prefix.Length <= 253 && prefix.Split('.').All(IsDnsLabel)));
    }

    /// <summary>Ids come from the server (hex); anything else would be an injection into object names, so it is refused.</summary>
    public static string Checked(string id) =>
        IsId(id) ? id : throw new ArgumentException($"'{id}' is not a valid id for Kubernetes object names ([a-z0-9-], at most 36).", nameof(id));

    public static bool IsId(string? id) => id is { Length: > 0 and <= 36 } && Id().IsMatch(id);

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$")]
    private static partial Regex LabelName();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]*$")]
    private static partial Regex Id();
}

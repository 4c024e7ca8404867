using System.Globalization;
using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using k8s.Models;

namespace GpuDev.Compute.Kubernetes;

/// <summary>The objects of one reservation, built from its spec alone (pure, so every build is the same and the
/// objects can be checked offline): per rank a Pod, a NodePort Service for SSH and, for multinode, a headless
/// Service; a Secret with keys; a ConfigMap with the entry script and expiry warnings; a NodePort Service for Jupyter.
/// The pod itself is built by <see cref="EnvironmentPod"/>, the objects of an image build by <see cref="ImageBuildObjects"/>.</summary>
internal sealed class EnvironmentObjects(KubernetesOptions options, GpuCatalog catalog)
{
    public const int SshPort = EnvironmentContract.SshPort;
    public const int MasterPort = EnvironmentContract.MasterPort;
    public const int JupyterPort = EnvironmentContract.JupyterPort;

    private readonly EnvironmentPod _pod = new(options, catalog);
    private readonly ImageBuildObjects _builds = new(options);

    /// <summary>What the provider knows of a node when it builds a pod for it.</summary>
    public sealed record NodeFacts(string Name, double Cpu, double MemoryBytes, int Gpus, int Efa);

    public static Dictionary<string, string> Labels(string reservationId, string role, int? rank = null)
    {
        var labels = new Dictionary<string, string>
        {
            [K8sNames.ManagedBy] = K8sNames.ManagedByValue,
            [K8sNames.Reservation] = reservationId,
            [K8sNames.Role] = role,
        };
        if (rank is { } r)
        {
            labels[K8sNames.Rank] = r.ToString(CultureInfo.InvariantCulture);
        }

        return labels;
    }

    /// <summary>The metadata of every object of a reservation: its labels (everything of it is found by them) and its owner.</summary>
    public static V1ObjectMeta Meta(string ns, string name, EnvironmentSpec spec, string role, int? rank = null) => new()
    {
        Name = name,
        NamespaceProperty = ns,
        Labels = Labels(spec.ReservationId, role, rank),
        Annotations = new Dictionary<string, string> { [K8sNames.Owner] = spec.Owner },
    };

    /// <param name="pullSecret">The image pull secret of an image built with per-build registry credentials.</param>
    public V1Pod Pod(EnvironmentSpec spec, int rank, NodeFacts node, string image, string? pullSecret = null) => _pod.Build(spec, rank, node, image, pullSecret);

    /// <inheritdoc cref="ImageBuildObjects.Build"/>
    public (V1ConfigMap Context, V1Job Job, V1Secret? Auth) Build(EnvironmentSpec spec, string? dockerConfigJson = null) => _builds.Build(spec, dockerConfigJson);

    /// <inheritdoc cref="ImageBuildObjects.BuiltImageByDigest"/>
    public string BuiltImageByDigest(string reservationId, string digest) => _builds.BuiltImageByDigest(reservationId, digest);

    public static bool IsDigest(string? value) => ImageBuildObjects.IsDigest(value);

    public V1Secret Secret(EnvironmentSpec spec, HostKeyPair hostKey, HostKeyPair? rankKey, string jupyterToken)
    {
        var data = new Dictionary<string, string>
        {
            [EnvironmentContract.AuthorizedKeysFile] = AuthorizedKeys(spec, rankKey),
            [EnvironmentContract.HostKeyFile] = hostKey.PrivateKey,
            [EnvironmentContract.HostKeyPubFile] = hostKey.PublicKey + "\n",
            [EnvironmentContract.JupyterTokenFile] = jupyterToken,
        };
        if (rankKey is not null)
        {
            // Every rank has the same host key, so one known_hosts line covers all headless names.
            data[EnvironmentContract.NodeKeyFile] = rankKey.PrivateKey;
            data[NodeKeyPubKey] = rankKey.PublicKey + "\n";
            data[EnvironmentContract.KnownHostsFile] = $"{HeadlessHostPatterns.Replace(' ', ',')} {hostKey.PublicKey}\n";
            data[EnvironmentContract.SshConfigFile] = SshClientConfig;
        }

        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = Meta(K8sNames.Secret(spec.ReservationId), spec, K8sNames.EnvironmentRole),
            Type = "Opaque",
            StringData = data,
        };
    }

    /// <summary>Secret key of the ranks' public key (read back to rebuild <see cref="EnvironmentContract.AuthorizedKeysFile"/>).</summary>
    public const string NodeKeyPubKey = "node_key.pub";

    /// <summary>The names ranks reach each other by: <c>&lt;pod&gt;-headless</c> and its qualified forms.</summary>
    public const string HeadlessHostPatterns = "*-headless *-headless.*";

    /// <summary>The ssh client configuration between ranks (installed as <c>/etc/ssh/ssh_config.d/gpu-dev.conf</c>).</summary>
    public const string SshClientConfig =
        "Host " + HeadlessHostPatterns + "\n" +
        "    User dev\n" +
        "    IdentityFile /etc/gpu-dev/node_key\n" +
        "    UserKnownHostsFile /etc/gpu-dev/known_hosts\n" +
        "    StrictHostKeyChecking yes\n";

    public static string AuthorizedKeys(EnvironmentSpec spec, HostKeyPair? rankKey) =>
        string.Concat(spec.AuthorizedKeys.Select(k => k.Trim() + "\n")) + (rankKey is null ? "" : rankKey.PublicKey + "\n");

    /// <summary>The entry script, and <see cref="EnvironmentContract.JupyterFile"/> while Jupyter is wanted; expiry warnings are
    /// added as keys later.</summary>
    public V1ConfigMap Config(EnvironmentSpec spec)
    {
        var data = new Dictionary<string, string> { [EnvironmentContract.EntryFile] = EntryScript.Text };
        if (spec.Jupyter)
        {
            data[EnvironmentContract.JupyterFile] = "1\n";
        }

        return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = Meta(K8sNames.Config(spec.ReservationId), spec, K8sNames.EnvironmentRole),
            Data = data,
        };
    }

    /// <summary>The claim behind <c>/shared</c> of a multinode reservation when <see cref="KubernetesOptions.SharedClaim"/> is not set:
    /// ReadWriteMany, removed with the reservation.</summary>
    public V1PersistentVolumeClaim SharedClaim(EnvironmentSpec spec) => new()
    {
        ApiVersion = "v1",
        Kind = "PersistentVolumeClaim",
        Metadata = Meta(K8sNames.SharedClaim(spec.ReservationId), spec, K8sNames.EnvironmentRole),
        Spec = new V1PersistentVolumeClaimSpec
        {
            AccessModes = ["ReadWriteMany"],
            StorageClassName = options.SharedStorageClass,
            Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(options.SharedSize) } },
        },
    };


    /// <summary>The pod-level hardening of every pod gpu-dev creates: the container runtime's default seccomp profile
    /// (no raw <c>bpf</c>, <c>kexec</c>, <c>mount</c> without the capability...), even for nsight pods that add SYS_ADMIN.
    /// With <c>automountServiceAccountToken: false</c> (set beside it) no pod can talk to the API server as the
    /// namespace's service account.</summary>
    public static V1PodSecurityContext PodSecurity() => new() { SeccompProfile = new V1SeccompProfile { Type = "RuntimeDefault" } };

    public V1Service SshService(EnvironmentSpec spec, int rank) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = Meta(K8sNames.SshService(spec.ReservationId, rank), spec, K8sNames.EnvironmentRole, rank),
        Spec = new V1ServiceSpec
        {
            Type = "NodePort",
            ExternalTrafficPolicy = "Local",
            Selector = PodSelector(spec.ReservationId, rank),
            Ports = [new V1ServicePort { Port = SshPort, Name = "ssh", Protocol = "TCP", TargetPort = SshPort }],
        },
    };

    public V1Service HeadlessService(EnvironmentSpec spec, int rank) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = Meta(K8sNames.Headless(spec.ReservationId, rank), spec, K8sNames.EnvironmentRole, rank),
        Spec = new V1ServiceSpec
        {
            ClusterIP = "None",
            PublishNotReadyAddresses = true,
            Selector = PodSelector(spec.ReservationId, rank),
            Ports =
            [
                new V1ServicePort { Port = MasterPort, Name = "dist", Protocol = "TCP", TargetPort = MasterPort },
                new V1ServicePort { Port = SshPort, Name = "ssh", Protocol = "TCP", TargetPort = SshPort },
            ],
        },
    };

    public V1Service JupyterService(EnvironmentSpec spec) => new()
    {
        ApiVersion = "v1",
        Kind = "Service",
        Metadata = Meta(K8sNames.JupyterService(spec.ReservationId), spec, K8sNames.EnvironmentRole, 0),
        Spec = new V1ServiceSpec
        {
            Type = "NodePort",
            ExternalTrafficPolicy = "Local",
            Selector = PodSelector(spec.ReservationId, 0),
            Ports = [new V1ServicePort { Port = JupyterPort, Name = "jupyter", Protocol = "TCP", TargetPort = JupyterPort }],
        },
    };

    /// <summary>The reservation's NetworkPolicy (the namespace's default-deny in deploy/kubernetes closes everything else):
    /// ingress from its own ranks (any port) and to sshd/Jupyter from anywhere (NodePort traffic keeps the client's
    /// address with <c>externalTrafficPolicy: Local</c>); egress to its own ranks, to DNS in kube-system, and to
    /// <c>0.0.0.0/0</c> except <see cref="KubernetesOptions.EgressDeniedCidrs"/> (metadata endpoint, cluster ranges).
    /// NetworkPolicy cannot say "pods with the same label value", hence one policy per reservation.</summary>
    public V1NetworkPolicy NetworkPolicy(EnvironmentSpec spec)
    {
        var ownPods = new V1LabelSelector { MatchLabels = OwnPods(spec.ReservationId) };
        return new V1NetworkPolicy
        {
            ApiVersion = "networking.k8s.io/v1",
            Kind = "NetworkPolicy",
            Metadata = Meta(K8sNames.NetworkPolicy(spec.ReservationId), spec, K8sNames.EnvironmentRole),
            Spec = new V1NetworkPolicySpec
            {
                PodSelector = new V1LabelSelector { MatchLabels = OwnPods(spec.ReservationId) },
                PolicyTypes = ["Ingress", "Egress"],
                Ingress =
                [
                    new V1NetworkPolicyIngressRule { FromProperty = [new V1NetworkPolicyPeer { PodSelector = ownPods }] },
                    new V1NetworkPolicyIngressRule
                    {
                        FromProperty =
                        [
                            new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = "0.0.0.0/0" } },
                            // The server's ssh handshake from inside the cluster: some CNIs (Cilium) do not count pod
                            // addresses as part of 0.0.0.0/0.
                            new V1NetworkPolicyPeer { PodSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [K8sNames.AppName] = K8sNames.ServerAppName } } },
                        ],
                        Ports = [Tcp(SshPort), Tcp(JupyterPort)],
                    },
                ],
                Egress =
                [
                    new V1NetworkPolicyEgressRule { To = [new V1NetworkPolicyPeer { PodSelector = ownPods }] },
                    new V1NetworkPolicyEgressRule
                    {
                        To = [new V1NetworkPolicyPeer { NamespaceSelector = new V1LabelSelector { MatchLabels = new Dictionary<string, string> { [K8sNames.NamespaceNameLabel] = "kube-system" } } }],
                        Ports = [new V1NetworkPolicyPort { Protocol = "UDP", Port = 53 }, new V1NetworkPolicyPort { Protocol = "TCP", Port = 53 }],
                    },
                    new V1NetworkPolicyEgressRule
                    {
                        To = [new V1NetworkPolicyPeer { IpBlock = new V1IPBlock { Cidr = "0.0.0.0/0", Except = [.. options.EffectiveEgressDeniedCidrs] } }],
                    },
                ],
            },
        };
    }

    private static Dictionary<string, string> OwnPods(string reservationId) => new()
    {
        [K8sNames.Reservation] = reservationId,
        [K8sNames.Role] = K8sNames.EnvironmentRole,
    };

    private static V1NetworkPolicyPort Tcp(int port) => new() { Protocol = "TCP", Port = port };

    public static Dictionary<string, string> PodSelector(string reservationId, int rank) => new()
    {
        [K8sNames.Reservation] = reservationId,
        [K8sNames.Role] = K8sNames.EnvironmentRole,
        [K8sNames.Rank] = rank.ToString(CultureInfo.InvariantCulture),
    };

    private V1ObjectMeta Meta(string name, EnvironmentSpec spec, string role, int? rank = null) => Meta(options.Namespace, name, spec, role, rank);
}

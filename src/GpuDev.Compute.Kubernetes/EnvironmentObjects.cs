using System.Globalization;
using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using k8s.Models;

namespace GpuDev.Compute.Kubernetes;

/// <summary>The objects of one reservation, built from its spec alone (pure, so every build is the same and the
/// objects can be checked offline): per rank a Pod, a NodePort Service for SSH and, for multinode, a headless
/// Service; a Secret with keys; a ConfigMap with the entry script and expiry warnings; a NodePort Service for Jupyter.</summary>
internal sealed class EnvironmentObjects(KubernetesOptions options, GpuCatalog catalog)
{
    public const int SshPort = EnvironmentContract.SshPort;
    public const int MasterPort = EnvironmentContract.MasterPort;
    public const int JupyterPort = EnvironmentContract.JupyterPort;

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

    private V1ObjectMeta Meta(string name, EnvironmentSpec spec, string role, int? rank = null) => new()
    {
        Name = name,
        NamespaceProperty = options.Namespace,
        Labels = Labels(spec.ReservationId, role, rank),
        Annotations = new Dictionary<string, string> { [K8sNames.Owner] = spec.Owner },
    };

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

    /// <param name="pullSecret">The image pull secret of an image built with per-build registry credentials.</param>
    public V1Pod Pod(EnvironmentSpec spec, int rank, NodeFacts node, string image, string? pullSecret = null)
    {
        var allocation = spec.Allocations[rank];
        var gpus = allocation.GpuIndices.Count;
        var type = catalog.Find(spec.GpuType);
        var share = node.Gpus > 0 ? (double)gpus / node.Gpus : 1.0;
        share *= options.ResourceShare;
        var multinode = spec.Allocations.Count > 1;
        var id = spec.ReservationId;

        var limits = new Dictionary<string, ResourceQuantity>
        {
            ["cpu"] = new(Quantities.Millicores(node.Cpu * share)),
            ["memory"] = new(Quantities.Mebibytes(node.MemoryBytes * share)),
        };
        if (gpus > 0)
        {
            limits[K8sNames.Gpu] = new(gpus.ToString(CultureInfo.InvariantCulture));
        }

        if (multinode && options.UseEfa && node.Efa > 0)
        {
            limits[K8sNames.Efa] = new(node.Efa.ToString(CultureInfo.InvariantCulture));
        }

        var masterAddress = multinode ? $"{K8sNames.Headless(id, 0)}.{options.Namespace}.svc.cluster.local" : "localhost";
        var env = EnvironmentContract.Variables(spec, rank, masterAddress).Select(v => Env(v.Key, v.Value)).ToList();
        env.Add(Env("NCCL_SOCKET_IFNAME", "eth0"));
        if (limits.ContainsKey(K8sNames.Efa))
        {
            env.Add(Env("FI_PROVIDER", "efa"));
            env.Add(Env("FI_EFA_USE_DEVICE_RDMA", "1"));
        }

        if (spec.Options.Nsight)
        {
            env.Add(Env("NVIDIA_DRIVER_CAPABILITIES", "compute,utility"));
        }

        var mounts = new List<V1VolumeMount>
        {
            Mount("/home/dev", "home"),
            Mount("/dev/shm", "dshm"),
            Mount(EnvironmentContract.KeysPath, "keys", readOnly: true),
            Mount(EnvironmentContract.ConfigPath, "config", readOnly: true),
        };
        if (multinode)
        {
            mounts.Add(Mount("/shared", "shared", subPath: options.SharedClaim is { Length: > 0 } ? id : null));
        }

        var volumes = new List<V1Volume>
        {
            spec.DiskId is { } diskId
                ? new V1Volume { Name = "home", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = K8sNames.DiskClaim(diskId) } }
                : new V1Volume { Name = "home", EmptyDir = new V1EmptyDirVolumeSource() },
            new V1Volume { Name = "dshm", EmptyDir = new V1EmptyDirVolumeSource { Medium = "Memory", SizeLimit = new ResourceQuantity(options.ShmSize) } },
            new V1Volume { Name = "keys", Secret = new V1SecretVolumeSource { SecretName = K8sNames.Secret(id), DefaultMode = 256 } },
            new V1Volume { Name = "config", ConfigMap = new V1ConfigMapVolumeSource { Name = K8sNames.Config(id), DefaultMode = 365 } },
        };
        if (multinode)
        {
            var sharedClaim = options.SharedClaim is { Length: > 0 } shared ? shared : K8sNames.SharedClaim(id);
            volumes.Add(new V1Volume { Name = "shared", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = sharedClaim } });
        }

        if (options.SharedPersonalClaim is { Length: > 0 } personal)
        {
            mounts.Add(Mount("/shared-personal", "shared-personal", subPath: spec.Owner));
            volumes.Add(new V1Volume { Name = "shared-personal", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = personal } });
        }

        if (options.CcacheClaim is { Length: > 0 } ccache)
        {
            // One directory of the claim per owner: no tenant shares (or can poison) another's compiler cache.
            mounts.Add(Mount("/ccache", "ccache", subPath: spec.Owner));
            volumes.Add(new V1Volume { Name = "ccache", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = ccache } });
        }

        var initContainers = new List<V1Container>();
        if (options.StaticSshdImage is { Length: > 0 } sshdImage && !spec.Options.PreserveEntrypoint)
        {
            mounts.Add(Mount(K8sNames.ToolsPath, "tools", readOnly: true));
            volumes.Add(new V1Volume { Name = "tools", EmptyDir = new V1EmptyDirVolumeSource() });
            initContainers.Add(new V1Container
            {
                Name = "install-sshd",
                Image = sshdImage,
                Command = ["/bin/sh", "-c", "cp /sshd /tools/sshd && chmod 755 /tools/sshd"],
                VolumeMounts = [Mount("/tools", "tools")],
            });
        }

        var container = new V1Container
        {
            Name = "dev",
            Image = image,
            Command = spec.Options.PreserveEntrypoint ? null : ["/bin/sh", $"{EnvironmentContract.ConfigPath}/{EnvironmentContract.EntryFile}"],
            Env = env,
            Ports =
            [
                new V1ContainerPort { ContainerPort = SshPort, Name = "ssh" },
                new V1ContainerPort { ContainerPort = MasterPort, Name = "dist" },
                new V1ContainerPort { ContainerPort = JupyterPort, Name = "jupyter" },
            ],
            Resources = new V1ResourceRequirements { Limits = limits, Requests = new Dictionary<string, ResourceQuantity>(limits) },
            VolumeMounts = mounts,
            SecurityContext = spec.Options.Nsight ? new V1SecurityContext { Capabilities = new V1Capabilities { Add = ["SYS_ADMIN"] } } : null,
            TerminationMessagePolicy = "FallbackToLogsOnError",
        };

        var nodeSelector = new Dictionary<string, string> { [K8sNames.HostnameLabel] = allocation.Node };
        if (options.GpuTypeLabel is { Length: > 0 } typeLabel)
        {
            nodeSelector[typeLabel] = spec.GpuType;
        }
        else if (type is not null)
        {
            nodeSelector[K8sNames.InstanceTypeLabel] = type.InstanceType;
        }

        V1Affinity? affinity = null;
        if (spec.Options.NodeLabels.Count > 0)
        {
            affinity = new V1Affinity
            {
                NodeAffinity = new V1NodeAffinity
                {
                    RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector { NodeSelectorTerms = 
                    [
                        new V1NodeSelectorTerm
                        {
                            MatchExpressions = [.. spec.Options.NodeLabels.OrderBy(l => l.Key, StringComparer.Ordinal)
                                .Select(l => new V1NodeSelectorRequirement { Key = l.Key, OperatorProperty = "In", Values = [l.Value] })],
                        },
                    ] },
                },
            };
        }

        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = Meta(K8sNames.Pod(id, rank), spec, K8sNames.EnvironmentRole, rank),
            Spec = new V1PodSpec
            {
                Hostname = K8sNames.Pod(id, rank),
                RestartPolicy = "Never",
                NodeSelector = nodeSelector,
                Affinity = affinity,
                Tolerations = [new V1Toleration { Key = K8sNames.Gpu, OperatorProperty = "Exists", Effect = "NoSchedule" }],
                InitContainers = initContainers.Count > 0 ? initContainers : null,
                Containers = [container],
                Volumes = volumes,
                ImagePullSecrets = pullSecret is null ? null : [new V1LocalObjectReference { Name = pullSecret }],
                TerminationGracePeriodSeconds = 10,
                EnableServiceLinks = false,
                AutomountServiceAccountToken = false,
                SecurityContext = PodSecurity(),
            },
        };
    }

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

    private static V1EnvVar Env(string name, string value) => new() { Name = name, Value = value };

    private static V1VolumeMount Mount(string path, string name, bool readOnly = false, string? subPath = null) =>
        new() { MountPath = path, Name = name, ReadOnlyProperty = readOnly ? true : null, SubPath = subPath };

    public static Dictionary<string, string> PodSelector(string reservationId, int rank) => new()
    {
        [K8sNames.Reservation] = reservationId,
        [K8sNames.Role] = K8sNames.EnvironmentRole,
        [K8sNames.Rank] = rank.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The in-cluster image build of <c>--dockerfile</c>: a ConfigMap with the Dockerfile and a Kaniko Job that
    /// pushes <see cref="BuiltImage"/>; with <paramref name="dockerConfigJson"/> (per-build registry credentials,
    /// <see cref="BuildRegistryTokens"/>) also a Secret that Kaniko reads as its <c>/kaniko/.docker/config.json</c> and the
    /// environment's pods use as their image pull secret.</summary>
    public (V1ConfigMap Context, V1Job Job, V1Secret? Auth) Build(EnvironmentSpec spec, string? dockerConfigJson = null)
    {
        var name = K8sNames.Build(spec.ReservationId);
        var auth = dockerConfigJson is null ? null : new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = Meta(K8sNames.BuildAuth(spec.ReservationId), spec, K8sNames.BuildRole),
            Type = "kubernetes.io/dockerconfigjson",
            StringData = new Dictionary<string, string> { [DockerConfigKey] = dockerConfigJson },
        };
        var context = new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = Meta(name, spec, K8sNames.BuildRole),
            Data = new Dictionary<string, string> { ["Dockerfile"] = spec.Options.Dockerfile ?? "" },
        };
        var job = new V1Job
        {
            ApiVersion = "batch/v1",
            Kind = "Job",
            Metadata = Meta(name, spec, K8sNames.BuildRole),
            Spec = new V1JobSpec
            {
                BackoffLimit = 0,
                ActiveDeadlineSeconds = 3600,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = Labels(spec.ReservationId, K8sNames.BuildRole) },
                    Spec = new V1PodSpec
                    {
                        RestartPolicy = "Never",
                        AutomountServiceAccountToken = false,
                        SecurityContext = PodSecurity(),
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "build",
                                Image = options.BuildImage,
                                Args = ["--dockerfile=/workspace/Dockerfile", "--context=dir:///workspace", $"--destination={BuiltImage(spec.ReservationId)}",
                                    // The pushed digest becomes the container's termination message: the pod runs that, not the tag.
                                    $"--digest-file={TerminationLog}"],
                                TerminationMessagePath = TerminationLog,
                                TerminationMessagePolicy = "File",
                                VolumeMounts = auth is null
                                    ? [Mount("/workspace", "context", readOnly: true)]
                                    : [Mount("/workspace", "context", readOnly: true), Mount("/kaniko/.docker", "registry-auth", readOnly: true)],
                                Resources = new V1ResourceRequirements
                                {
                                    Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("1"), ["memory"] = new("2Gi") },
                                    Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("8Gi") },
                                },
                            },
                        ],
                        Volumes = auth is null
                            ? [new V1Volume { Name = "context", ConfigMap = new V1ConfigMapVolumeSource { Name = name } }]
                            :
                            [
                                new V1Volume { Name = "context", ConfigMap = new V1ConfigMapVolumeSource { Name = name } },
                                new V1Volume
                                {
                                    Name = "registry-auth",
                                    Secret = new V1SecretVolumeSource { SecretName = auth.Metadata.Name, Items = [new V1KeyToPath { Key = DockerConfigKey, Path = "config.json" }] },
                                },
                            ],
                    },
                },
            },
        };
        return (context, job, auth);
    }

    private const string TerminationLog = "/dev/termination-log";
    private const string DockerConfigKey = ".dockerconfigjson";

    /// <summary>The tag the build pushes: <c>latest</c> of the reservation's own repository
    /// (<c>&lt;BuildRegistry&gt;/gpu-dev-build/&lt;id&gt;</c>), so per-build credentials can be scoped to it.</summary>
    public string BuiltImage(string reservationId) => $"{BuiltRepository(reservationId)}:latest";

    /// <summary>What the environment runs: the repository at the digest the build reported, so nothing pushed to the
    /// tag afterwards (another build, anyone with push rights) is what the pod pulls.</summary>
    public string BuiltImageByDigest(string reservationId, string digest) =>
        IsDigest(digest) ? $"{BuiltRepository(reservationId)}@{digest}" : throw new ArgumentException($"'{digest}' is not a sha256 image digest.", nameof(digest));

    public static bool IsDigest(string? value) => value is { Length: 71 } && value.StartsWith("sha256:", StringComparison.Ordinal) && value[7..].All(char.IsAsciiHexDigitLower);

    private string BuiltRepository(string reservationId) => K8sNames.BuiltRepository(options.BuildRegistry, reservationId);
}

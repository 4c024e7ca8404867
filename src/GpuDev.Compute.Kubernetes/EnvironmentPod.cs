using System.Globalization;
using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using k8s.Models;

namespace GpuDev.Compute.Kubernetes;

/// <summary>The pod of one rank, built from the spec and what is known of its node alone (pure, like
/// <see cref="EnvironmentObjects"/>): the contract's variables and mounts, resources as the rank's share of the node, the
/// node pinned by host name (and GPU type), the static sshd installed by an init container when configured.</summary>
internal sealed class EnvironmentPod(KubernetesOptions options, GpuCatalog catalog)
{
    /// <param name="pullSecret">The image pull secret of an image built with per-build registry credentials.</param>
    public V1Pod Build(EnvironmentSpec spec, int rank, EnvironmentObjects.NodeFacts node, string image, string? pullSecret = null)
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
                new V1ContainerPort { ContainerPort = EnvironmentContract.SshPort, Name = "ssh" },
                new V1ContainerPort { ContainerPort = EnvironmentContract.MasterPort, Name = "dist" },
                new V1ContainerPort { ContainerPort = EnvironmentContract.JupyterPort, Name = "jupyter" },
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
            Metadata = EnvironmentObjects.Meta(options.Namespace, K8sNames.Pod(id, rank), spec, K8sNames.EnvironmentRole, rank),
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
                SecurityContext = EnvironmentObjects.PodSecurity(),
            },
        };
    }

    public static V1VolumeMount Mount(string path, string name, bool readOnly = false, string? subPath = null) =>
        new() { MountPath = path, Name = name, ReadOnlyProperty = readOnly ? true : null, SubPath = subPath };

    private static V1EnvVar Env(string name, string value) => new() { Name = name, Value = value };
}

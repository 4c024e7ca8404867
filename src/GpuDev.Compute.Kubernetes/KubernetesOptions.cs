using GpuDev.Core.Catalog;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.Kubernetes;

/// <summary>Section <c>Kubernetes</c>: where and how reservations run on a cluster.</summary>
public sealed class KubernetesOptions
{
    public const string Section = "Kubernetes";

    /// <summary>Path of a kubeconfig file; empty: in-cluster configuration when running in a pod, else <c>$KUBECONFIG</c> or <c>~/.kube/config</c>.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>Kubeconfig context; empty: the current one.</summary>
    public string? Context { get; set; }

    /// <summary>Namespace of every object gpu-dev creates.</summary>
    public string Namespace { get; set; } = "gpu-dev";

    /// <summary>Image of environments without <c>--dockerimage</c>/<c>--dockerfile</c> (images/devserver).</summary>
    public string DefaultImage { get; set; } = "ghcr.io/gpu-dev/devserver:2.9.1-cuda12.8";

    /// <summary>Optional image whose <c>/sshd</c> is a static sshd, copied by an init container for images without one.</summary>
    public string? StaticSshdImage { get; set; }

    /// <summary>Node label whose value is the GPU type name (e.g. <c>gpu-dev.io/gpu-type</c>); empty: the type is found
    /// from <c>node.kubernetes.io/instance-type</c> and the catalog's instance types (the seed's table).</summary>
    public string? GpuTypeLabel { get; set; }

    /// <summary>Which node address SSH users reach NodePorts on: InternalIP (default) or ExternalIP.</summary>
    public string NodeAddressType { get; set; } = "InternalIP";

    /// <summary>Storage class of named disks (EBS gp3 in the seed).</summary>
    public string StorageClass { get; set; } = "gp3";

    /// <summary>Size of a new named disk.</summary>
    public string DiskSize { get; set; } = "100Gi";

    /// <summary>VolumeSnapshotClass for disk snapshots; empty: the cluster default.</summary>
    public string? SnapshotClass { get; set; }

    /// <summary>ReadWriteMany claim mounted at <c>/shared-personal</c> (a sub-directory per user); empty: not mounted.</summary>
    public string? SharedPersonalClaim { get; set; }

    /// <summary>ReadWriteMany claim whose directory per owner is mounted at <c>/ccache</c>; empty: not mounted.</summary>
    public string? CcacheClaim { get; set; }

    /// <summary>ReadWriteMany claim whose sub-directory per reservation is <c>/shared</c> on every node of a multinode
    /// reservation; empty: a claim per multinode reservation (<c>gpudev-&lt;id&gt;-shared</c>, <see cref="SharedStorageClass"/>,
    /// <see cref="SharedSize"/>), deleted with it.</summary>
    public string? SharedClaim { get; set; }

    /// <summary>Storage class of the per-reservation <c>/shared</c> claim; it must offer ReadWriteMany (EFS in the seed).</summary>
    public string SharedStorageClass { get; set; } = "efs-sc";

    /// <summary>Size of the per-reservation <c>/shared</c> claim.</summary>
    public string SharedSize { get; set; } = "10Gi";

    /// <summary>Image of the short-lived pod that lists a disk snapshot's files (<c>disk list-content</c>, snapshot file
    /// counts); it needs <c>sh</c>, <c>find</c> and <c>stat</c>.</summary>
    public string ToolsImage { get; set; } = "busybox:1.37";

    /// <summary>How long listing a snapshot's files may take (claim from the snapshot, pod, listing).</summary>
    public TimeSpan ListWait { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Registry that images built from <c>--dockerfile</c> are pushed to (e.g. <c>123.dkr.ecr.us-east-1.amazonaws.com/gpu-dev</c>); empty: --dockerfile fails with a clear message.</summary>
    public string? BuildRegistry { get; set; }

    /// <summary>How builds push to <see cref="BuildRegistry"/>: <c>node</c> (default) with whatever the build pod finds (the
    /// node's role on ECR): every build can push to any tag the node can, so builds are not isolated from each other;
    /// <c>token</c>: gpu-dev is the registry's token service and each build's credentials push only to its own repository
    /// (<see cref="BuildRegistryTokens"/>; the registry must trust <c>GET /registry/certificate</c>).</summary>
    public string BuildRegistryAuth { get; set; } = "node";

    /// <summary>With <c>BuildRegistryAuth=token</c>: the registry's <c>auth.token.service</c>; empty: the registry's host.</summary>
    public string? BuildRegistryService { get; set; }

    /// <summary>With <c>BuildRegistryAuth=token</c>: the registry's <c>auth.token.issuer</c>.</summary>
    public string BuildTokenIssuer { get; set; } = "gpu-dev";

    /// <summary>With <c>BuildRegistryAuth=token</c>: the PEM file with the token signing key and its certificate, created
    /// when missing; the server sets <c>&lt;DataDir&gt;/registry-token.pem</c> when empty. Replicas must share it.</summary>
    public string? BuildTokenKeyFile { get; set; }

    public bool BuildTokens => BuildRegistryAuth == "token";

    /// <summary>Image of the in-cluster build (Kaniko executor).</summary>
    public string BuildImage { get; set; } = "gcr.io/kaniko-project/executor:v1.23.2";

    /// <summary>How long one provisioning call waits for pods to run before it returns and is retried.</summary>
    public TimeSpan ReadyWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Share of a node's allocatable CPU and memory a reservation gets, in proportion to its GPUs (the rest is left for system pods).</summary>
    public double ResourceShare { get; set; } = 0.9;

    /// <summary>Size of <c>/dev/shm</c> (memory-backed emptyDir).</summary>
    public string ShmSize { get; set; } = "64Gi";

    /// <summary>Ranges environment pods may not reach (the <c>except</c> of their egress to <c>0.0.0.0/0</c>): the link-local
    /// metadata endpoint (169.254.169.254, the node's IAM role on EKS) and the cluster's internal ranges (pods,
    /// services, nodes, the VPC). Ranks of one reservation and DNS in kube-system stay reachable through their own rules.
    /// Unset: <see cref="DefaultEgressDeniedCidrs"/>; a list given in configuration replaces them.</summary>
    public List<string>? EgressDeniedCidrs { get; set; }

    public static IReadOnlyList<string> DefaultEgressDeniedCidrs { get; } = ["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

    /// <summary>What environment pods may not reach: <see cref="EgressDeniedCidrs"/> or, unset or empty, the defaults.</summary>
    internal IReadOnlyList<string> EffectiveEgressDeniedCidrs => EgressDeniedCidrs is { Count: > 0 } list ? list : DefaultEgressDeniedCidrs;

    /// <summary>Request EFA devices (<c>vpc.amazonaws.com/efa</c>) for multinode pods on nodes that offer them.</summary>
    public bool UseEfa { get; set; } = true;

    /// <summary>Node groups the cluster autoscaler (or Karpenter) can grow: a request that today's nodes cannot hold but
    /// that fits once its groups have grown is queued (not refused), and its placeholder pods ask the autoscaler for the
    /// nodes. Empty: the fleet is the nodes there are.</summary>
    public List<NodeGroupOptions> NodeGroups { get; set; } = [];

    /// <summary>Image of the placeholder pods that show the autoscaler a request waiting for new nodes (they only hold
    /// their GPU request, and are deleted before the reservation's own pods are made).</summary>
    public string PlaceholderImage { get; set; } = "registry.k8s.io/pause:3.10";
}

/// <summary>One entry of <c>Kubernetes:NodeGroups</c>: a group of identical GPU nodes that can grow to <see cref="MaxNodes"/>.</summary>
public sealed class NodeGroupOptions
{
    /// <summary>The group's name (the EKS node group or Karpenter NodePool), shown in wait reasons.</summary>
    public string Name { get; set; } = "";

    /// <summary>Catalog GPU type of its nodes (e.g. <c>h100</c>).</summary>
    public string GpuType { get; set; } = "";

    /// <summary>GPUs (<c>nvidia.com/gpu</c>) each of its nodes has.</summary>
    public int GpusPerNode { get; set; }

    /// <summary>The most nodes the group can have (the autoscaler's maximum for it).</summary>
    public int MaxNodes { get; set; }

    /// <summary>How its nodes are recognised, as <c>key=value[,key=value]</c>; new nodes carry these labels, so placeholder
    /// pods select them. Empty: <c>eks.amazonaws.com/nodegroup=&lt;Name&gt;</c>; for Karpenter <c>karpenter.sh/nodepool=&lt;Name&gt;</c>.</summary>
    public string? Selector { get; set; }

    /// <summary>Other labels its new nodes will carry (from the launch template or NodePool), so <c>--node-label</c>
    /// requests can wait for them.</summary>
    public Dictionary<string, string> Labels { get; set; } = [];

    /// <summary>The labels of <see cref="Selector"/> (or its default); null when it is malformed.</summary>
    internal Dictionary<string, string>? SelectorLabels()
    {
        if (string.IsNullOrWhiteSpace(Selector))
        {
            return new Dictionary<string, string>(StringComparer.Ordinal) { [K8sNames.EksNodeGroupLabel] = Name };
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in Selector.Split(',', StringSplitOptions.TrimEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || pair[(eq + 1)..].Contains('=', StringComparison.Ordinal) || !labels.TryAdd(pair[..eq].Trim(), pair[(eq + 1)..].Trim()))
            {
                return null;
            }
        }

        return labels;
    }
}

/// <param name="catalog">The GPU catalog node groups' types are checked against (absent: not checked).</param>
internal sealed class KubernetesOptionsValidator(GpuCatalog? catalog = null) : IValidateOptions<KubernetesOptions>
{
    public ValidateOptionsResult Validate(string? name, KubernetesOptions options)
    {
        var errors = new List<string>();
        if (!K8sNames.IsDnsLabel(options.Namespace))
        {
            errors.Add($"Kubernetes:Namespace '{options.Namespace}' must be a DNS label: 1-63 of [a-z0-9-], starting and ending with a letter or digit.");
        }

        if (options.NodeAddressType is not ("InternalIP" or "ExternalIP" or "Hostname"))
        {
            errors.Add($"Kubernetes:NodeAddressType '{options.NodeAddressType}' is not valid; valid: InternalIP, ExternalIP, Hostname.");
        }

        if (options.ResourceShare is <= 0 or > 1)
        {
            errors.Add($"Kubernetes:ResourceShare must be in (0, 1]; got {options.ResourceShare}.");
        }

        if (options.ReadyWait < TimeSpan.Zero || options.ReadyWait > TimeSpan.FromMinutes(5))
        {
            errors.Add($"Kubernetes:ReadyWait must be between 0 and 5 minutes; got {options.ReadyWait}.");
        }

        if (options.BuildRegistryAuth is not ("node" or "token"))
        {
            errors.Add($"Kubernetes:BuildRegistryAuth '{options.BuildRegistryAuth}' is not valid; valid: node, token.");
        }
        else if (options.BuildTokens && string.IsNullOrWhiteSpace(options.BuildRegistry))
        {
            errors.Add("Kubernetes:BuildRegistryAuth=token needs Kubernetes:BuildRegistry (the registry whose token service gpu-dev is).");
        }

        if (!string.IsNullOrEmpty(options.Kubeconfig) && !File.Exists(options.Kubeconfig))
        {
            errors.Add($"Kubernetes:Kubeconfig (--kubeconfig) '{options.Kubeconfig}' does not exist.");
        }

        foreach (var (key, value) in new[] { ("DiskSize", options.DiskSize), ("ShmSize", options.ShmSize), ("SharedSize", options.SharedSize) })
        {
            if (!Quantities.TryParseBytes(value, out _))
            {
                errors.Add($"Kubernetes:{key} '{value}' is not a Kubernetes quantity (e.g. 100Gi).");
            }
        }

        foreach (var cidr in options.EgressDeniedCidrs ?? [])
        {
            if (!cidr.Contains('/', StringComparison.Ordinal) || !System.Net.IPNetwork.TryParse(cidr, out var network) || network.ToString() != cidr)
            {
                errors.Add($"Kubernetes:EgressDeniedCidrs '{cidr}' is not a CIDR with no host bits set (e.g. 10.0.0.0/8).");
            }
        }

        ValidateNodeGroups(options, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private void ValidateNodeGroups(KubernetesOptions options, List<string> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.NodeGroups.Count; i++)
        {
            var group = options.NodeGroups[i];
            var at = $"Kubernetes:NodeGroups:{i}";
            if (string.IsNullOrEmpty(group.Name) || !K8sNames.IsLabelValue(group.Name))
            {
                errors.Add($"{at}:Name '{group.Name}' must be 1-63 of [A-Za-z0-9._-], starting and ending with a letter or digit (the node group's name).");
            }
            else if (!names.Add(group.Name))
            {
                errors.Add($"{at}:Name '{group.Name}' is used by another node group.");
            }

            if (string.IsNullOrWhiteSpace(group.GpuType) || (catalog is not null && catalog.Find(group.GpuType) is null))
            {
                var known = catalog is null ? "" : $"; known: {string.Join(", ", catalog.Types.Select(t => t.Name))}";
                errors.Add($"{at}:GpuType '{group.GpuType}' is not a GPU type of the catalog{known}.");
            }

            if (group.GpusPerNode < 1)
            {
                errors.Add($"{at}:GpusPerNode must be at least 1; got {group.GpusPerNode}.");
            }

            if (group.MaxNodes < 1)
            {
                errors.Add($"{at}:MaxNodes must be at least 1; got {group.MaxNodes}.");
            }

            var selector = group.SelectorLabels();
            if (selector is null || selector.Any(l => !K8sNames.IsLabelKey(l.Key) || !K8sNames.IsLabelValue(l.Value)))
            {
                errors.Add($"{at}:Selector '{group.Selector}' must be label=value pairs separated by commas (e.g. karpenter.sh/nodepool={group.Name}).");
            }

            foreach (var (key, value) in group.Labels.Where(l => !K8sNames.IsLabelKey(l.Key) || !K8sNames.IsLabelValue(l.Value)))
            {
                errors.Add($"{at}:Labels '{key}={value}' is not a valid Kubernetes label.");
            }
        }

        if (options.NodeGroups.Count > 0 && string.IsNullOrWhiteSpace(options.PlaceholderImage))
        {
            errors.Add("Kubernetes:PlaceholderImage must name an image (e.g. registry.k8s.io/pause:3.10) when Kubernetes:NodeGroups are set.");
        }
    }
}

using GpuDev.Core.Compute;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.Kubernetes;

/// <summary>The node groups of <see cref="KubernetesOptions.NodeGroups"/> and the demand gpu-dev shows their autoscaler: a
/// request that waits for new nodes has one pending placeholder pod per node it needs (the placeholder image, the GPUs it
/// will use on that node, the group's labels as node selector, none of the group's present nodes, the GPU toleration), which
/// the cluster autoscaler or Karpenter sees as unschedulable and adds nodes for. Today's nodes are excluded because the
/// scheduler already counts them: a placeholder there would hold GPUs and ask for nothing; when the group's nodes change,
/// pending placeholders are made again with the new list. Placeholders carry the reservation's labels, so its teardown and the
/// start-up clean-up remove them with everything else of it; <see cref="ReconcileAsync"/> keeps them equal to the
/// demand it is given, and a placeholder that got a node is deleted (the node is then free for the scheduler to give to
/// whoever is first, which is the request it came for unless an earlier one fits there). The reservation's own pods are
/// made only after <see cref="RemoveAsync"/>, so a placeholder never holds GPUs they need.</summary>
internal sealed class NodeGroups(IKubernetes client, KubernetesOptions options, ILogger logger)
{
    private readonly Dictionary<string, Dictionary<string, string>> _selectors = options.NodeGroups
        .ToDictionary(g => g.Name, g => g.SelectorLabels() ?? [], StringComparer.Ordinal);

    /// <summary>Without groups placeholders are only ever made by an earlier configuration: they are looked for once.</summary>
    private bool _checkedWithoutGroups;

    private string Ns => options.Namespace;

    private static string DemandSelector => $"{K8sNames.ManagedSelector},{K8sNames.Role}={K8sNames.DemandRole}";

    public async Task<IReadOnlyList<NodeGroup>> ListAsync(CancellationToken cancellationToken)
    {
        if (options.NodeGroups.Count == 0)
        {
            return [];
        }

        var nodes = (await client.CoreV1.ListNodeAsync(cancellationToken: cancellationToken)).Items;
        return [.. options.NodeGroups.Select(g =>
        {
            var selector = _selectors[g.Name];
            var current = nodes.Count(n => selector.All(l => ObjectFacts.Value(n.Metadata?.Labels, l.Key) == l.Value));
            var labels = new Dictionary<string, string>(g.Labels, StringComparer.Ordinal);
            foreach (var (key, value) in selector)
            {
                labels[key] = value;
            }

            return new NodeGroup(g.Name, g.GpuType, g.GpusPerNode, g.MaxNodes, current, labels);
        })];
    }

    public async Task ReconcileAsync(IReadOnlyList<NodeDemand> demand, CancellationToken cancellationToken)
    {
        if (options.NodeGroups.Count == 0)
        {
            if (_checkedWithoutGroups)
            {
                return;
            }

            _checkedWithoutGroups = true;
        }

        var wanted = demand
            .Where(d => _selectors.ContainsKey(d.Group) && d.Nodes > 0)
            .GroupBy(d => (d.ReservationId, d.Group))
            .ToDictionary(g => g.Key, g => (Nodes: g.Sum(d => d.Nodes), g.First().GpusPerNode, g.First().NodeLabels));
        var nodes = options.NodeGroups.Count == 0 ? [] : (await client.CoreV1.ListNodeAsync(cancellationToken: cancellationToken)).Items;
        var members = _selectors.ToDictionary(g => g.Key, g => nodes.Where(n => g.Value.All(l => ObjectFacts.Value(n.Metadata?.Labels, l.Key) == l.Value))
            .Select(HostnameOf).Order(StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        var pods = (await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: DemandSelector, cancellationToken: cancellationToken)).Items;
        var names = pods.Select(p => p.Metadata.Name).ToHashSet(StringComparer.Ordinal);
        var kept = new Dictionary<(string, string), List<V1Pod>>();
        foreach (var pod in pods.OrderBy(p => p.Metadata.Name, StringComparer.Ordinal))
        {
            var key = (ObjectFacts.Value(pod.Metadata.Labels, K8sNames.Reservation) ?? "", ObjectFacts.Value(pod.Metadata.Labels, K8sNames.NodeGroup) ?? "");
            var bound = !string.IsNullOrEmpty(pod.Spec?.NodeName);
            if (bound || ObjectFacts.IsTerminal(pod) || pod.Metadata.DeletionTimestamp is not null || !wanted.TryGetValue(key, out var want)
                || (kept.TryGetValue(key, out var have) && have.Count >= want.Nodes))
            {
                await DeleteAsync(pod, bound ? $"it got node {pod.Spec!.NodeName}" : "its request no longer waits for this node", cancellationToken);
                continue;
            }

            if (!Excluded(pod).SequenceEqual(members[key.Item2], StringComparer.Ordinal))
            {
                // It could land on a node that joined since (which the scheduler now counts): made again without that node.
                await DeleteAsync(pod, "the group's nodes changed", cancellationToken);
                continue;
            }

            if (!kept.TryGetValue(key, out var list))
            {
                kept[key] = list = [];
            }

            list.Add(pod);
        }

        foreach (var ((id, group), want) in wanted)
        {
            var missing = want.Nodes - (kept.TryGetValue((id, group), out var have) ? have.Count : 0);
            for (var index = 0; missing > 0; index++)
            {
                var name = K8sNames.Demand(id, index);
                if (names.Add(name))
                {
                    if (await ApiCalls.CreateIfMissingAsync(() => client.CoreV1.CreateNamespacedPodAsync(Placeholder(name, id, group, want.GpusPerNode, want.NodeLabels, members[group]), Ns,
                        cancellationToken: cancellationToken)))
                    {
                        Log.PlaceholderCreated(logger, name, group);
                    }

                    missing--;
                }
            }
        }
    }

    /// <summary>Deletes the reservation's placeholders (before its own pods are made). Succeeds when there are none.</summary>
    public async Task RemoveAsync(string id, CancellationToken cancellationToken)
    {
        var selector = $"{K8sNames.OfReservation(id)},{K8sNames.Role}={K8sNames.DemandRole}";
        foreach (var pod in (await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await DeleteAsync(pod, "its reservation starts", cancellationToken);
        }
    }

    /// <summary>At once (no grace period): a placeholder runs nothing, and the GPUs it holds on a node are wanted now.</summary>
    private async Task DeleteAsync(V1Pod pod, string why, CancellationToken cancellationToken)
    {
        await ApiCalls.IgnoreNotFoundAsync(() => client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, Ns, gracePeriodSeconds: 0, cancellationToken: cancellationToken));
        Log.PlaceholderDeleted(logger, pod.Metadata.Name, why);
    }

    /// <summary>The node's <c>kubernetes.io/hostname</c> label (what environment pods select nodes by), else its name.</summary>
    private static string HostnameOf(V1Node node) => ObjectFacts.Value(node.Metadata?.Labels, K8sNames.HostnameLabel) ?? node.Metadata!.Name;

    /// <summary>The nodes a placeholder may not land on (its <c>kubernetes.io/hostname NotIn</c> values), sorted.</summary>
    private static List<string> Excluded(V1Pod pod) =>
        [.. (pod.Spec?.Affinity?.NodeAffinity?.RequiredDuringSchedulingIgnoredDuringExecution?.NodeSelectorTerms ?? [])
            .SelectMany(t => t.MatchExpressions ?? [])
            .Where(e => e.Key == K8sNames.HostnameLabel && e.OperatorProperty == "NotIn")
            .SelectMany(e => e.Values ?? [])
            .Order(StringComparer.Ordinal)];

    /// <summary>A pod the autoscaler can only place on a new node of <paramref name="group"/>: the group's labels and the
    /// request's node labels as node selector, none of the group's nodes of today (<paramref name="existing"/>: the
    /// scheduler already counts them, and a placeholder there would only hold GPUs), the GPUs the request will use there,
    /// the GPU taint tolerated.</summary>
    internal V1Pod Placeholder(string name, string id, string group, int gpus, IReadOnlyDictionary<string, string> nodeLabels, IReadOnlyList<string> existing)
    {
        var selector = new Dictionary<string, string>(nodeLabels, StringComparer.Ordinal);
        foreach (var (key, value) in _selectors[group])
        {
            selector[key] = value;
        }

        var labels = EnvironmentObjects.Labels(id, K8sNames.DemandRole);
        labels[K8sNames.NodeGroup] = group;
        var gpu = new Dictionary<string, ResourceQuantity> { [K8sNames.Gpu] = new(gpus.ToString(System.Globalization.CultureInfo.InvariantCulture)) };
        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Ns, Labels = labels },
            Spec = new V1PodSpec
            {
                Containers =
                [
                    new V1Container
                    {
                        Name = "placeholder",
                        Image = options.PlaceholderImage,
                        Resources = new V1ResourceRequirements { Limits = gpu, Requests = new Dictionary<string, ResourceQuantity>(gpu) },
                        SecurityContext = new V1SecurityContext { AllowPrivilegeEscalation = false, Capabilities = new V1Capabilities { Drop = ["ALL"] } },
                    },
                ],
                NodeSelector = selector,
                Affinity = existing.Count == 0 ? null : new V1Affinity
                {
                    NodeAffinity = new V1NodeAffinity
                    {
                        RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector
                        {
                            NodeSelectorTerms =
                            [
                                new V1NodeSelectorTerm
                                {
                                    MatchExpressions = [new V1NodeSelectorRequirement { Key = K8sNames.HostnameLabel, OperatorProperty = "NotIn", Values = [.. existing] }],
                                },
                            ],
                        },
                    },
                },
                Tolerations = [new V1Toleration { Key = K8sNames.Gpu, OperatorProperty = "Exists", Effect = "NoSchedule" }],
                AutomountServiceAccountToken = false,
                TerminationGracePeriodSeconds = 0,
                SecurityContext = EnvironmentObjects.PodSecurity(),
            },
        };
    }
}

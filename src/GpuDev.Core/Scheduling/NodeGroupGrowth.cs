using System.Globalization;
using GpuDev.Core.Compute;

namespace GpuDev.Core.Scheduling;

/// <summary>What growing the node groups would do for a request that today's nodes can never hold: how many new nodes it
/// needs, and from which groups (in configuration order, each up to its maximum). The same rule decides at submit (accept
/// or refuse, <see cref="RefusalText"/>) and while it waits (<see cref="WaitReason"/>, and the demand the provider shows
/// the autoscaler), so a request accepted because a group can grow is never left waiting for a node that cannot come.
/// Pure: no I/O, no clock.</summary>
/// <param name="NodesNeeded">New nodes the request needs.</param>
/// <param name="NodesInFleet">Nodes of the fleet that can already hold a share of it (multinode: whole nodes of its shape).</param>
/// <param name="Groups">Groups whose nodes have the request's type, shape and labels, whether or not they can still grow.</param>
/// <param name="Take">How many new nodes come from which group; fewer than <paramref name="NodesNeeded"/> in all when the groups' maximums are too small.</param>
public sealed record NodeGroupGrowth(int NodesNeeded, int NodesInFleet, IReadOnlyList<NodeGroup> Groups, IReadOnlyList<(NodeGroup Group, int Nodes)> Take)
{
    /// <summary>True when the groups can grow enough for the request.</summary>
    public bool CanStart => Take.Sum(t => t.Nodes) >= NodesNeeded;

    /// <summary>Null when today's nodes can hold the request (some time), or when no node group has its type, shape and labels.</summary>
    /// <param name="nodeCount">1 for a single-node request; otherwise whole nodes of <paramref name="gpuCount"/>/<paramref name="nodeCount"/> GPUs.</param>
    /// <param name="nodes">The fleet's nodes now (GPUs as the provider offers them).</param>
    public static NodeGroupGrowth? For(string gpuType, int gpuCount, int nodeCount, IReadOnlyDictionary<string, string>? labels,
        IReadOnlyList<ComputeNode> nodes, IReadOnlyList<NodeGroup> groups)
    {
        var multinode = nodeCount > 1;
        var perNode = multinode ? gpuCount / nodeCount : gpuCount;
        var fits = nodes.Where(n => string.Equals(n.GpuType, gpuType, StringComparison.OrdinalIgnoreCase) && Carries(n.Labels, labels)
            && (multinode ? n.GpuCount == perNode : n.GpuCount >= perNode));
        var inFleet = multinode ? fits.Count() : fits.Any() ? 1 : 0;
        var needed = (multinode ? nodeCount : 1) - inFleet;
        var shaped = groups.Where(g => string.Equals(g.GpuType, gpuType, StringComparison.OrdinalIgnoreCase) && Carries(g.Labels, labels)
            && (multinode ? g.GpusPerNode == perNode : g.GpusPerNode >= perNode)).ToList();
        if (needed <= 0 || shaped.Count == 0)
        {
            return null;
        }

        var take = new List<(NodeGroup, int)>();
        var left = needed;
        foreach (var group in shaped.Where(g => g.Headroom > 0))
        {
            var n = Math.Min(left, group.Headroom);
            take.Add((group, n));
            left -= n;
            if (left == 0)
            {
                break;
            }
        }

        return new NodeGroupGrowth(needed, inFleet, shaped, take);
    }

    /// <summary>One line for a request that waits for new nodes; the start stays unknown until they join (nothing says
    /// how long the autoscaler takes, or whether the cloud has the capacity).</summary>
    public string WaitReason(string gpuType, int nodeCount, IReadOnlyDictionary<string, string>? labels)
    {
        var what = NodesNeeded == 1 ? $"a new {gpuType} node" : $"{Count(NodesNeeded)} new {gpuType} nodes";
        var shape = nodeCount > 1 ? $" ({Count(nodeCount)} whole nodes needed, {Count(NodesInFleet)} in the fleet)" : "";
        return $"waiting for {what}{LabelText(labels)}{shape}; {GroupsText(Take.Select(t => t.Group).ToList())}; start unknown until {(NodesNeeded == 1 ? "it joins" : "they join")}";
    }

    /// <summary>Why a request is refused at submit although node groups of its shape exist: they cannot grow enough.</summary>
    public string RefusalText(string gpuType, int gpuCount, int nodeCount, IReadOnlyDictionary<string, string>? labels)
    {
        var need = nodeCount > 1
            ? $"{gpuCount} {gpuType} GPUs need {Count(nodeCount)} nodes of {gpuCount / nodeCount} GPUs{LabelText(labels)}; this site has {Count(NodesInFleet)}"
            : $"No {gpuType} node{LabelText(labels)} has {gpuCount} GPUs";
        return $"{need}, and {GroupsText(Groups)}.";
    }

    private static string GroupsText(IReadOnlyList<NodeGroup> groups) => groups.Count == 1
        ? $"the node group can grow to {Count(groups[0].MaxNodes)} ({groups[0].Name}, {Count(groups[0].CurrentNodes)} now)"
        : $"the node groups can grow to {Count(groups.Sum(g => g.MaxNodes))} ({string.Join(", ", groups.Select(g => $"{g.Name}: {Count(g.CurrentNodes)} of {Count(g.MaxNodes)}"))})";

    private static string LabelText(IReadOnlyDictionary<string, string>? labels) =>
        labels is { Count: > 0 } ? " with " + string.Join(",", labels.Select(l => $"{l.Key}={l.Value}")) : "";

    private static bool Carries(IReadOnlyDictionary<string, string>? has, IReadOnlyDictionary<string, string>? wanted) =>
        wanted is not { Count: > 0 } || wanted.All(l => has is not null && has.TryGetValue(l.Key, out var v) && v == l.Value);

    private static string Count(int n) => n.ToString(CultureInfo.InvariantCulture);
}

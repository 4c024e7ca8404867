using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;

namespace GpuDev.Core.Scheduling;

/// <summary>Finds GPUs for a request on the current fleet. Pure: no I/O, no clock.</summary>
public static class PlacementPlanner
{
    /// <summary>A placement for <paramref name="gpuCount"/> GPUs of <paramref name="gpuType"/> over
    /// <paramref name="nodeCount"/> nodes, or null when it does not fit now. Single-node requests go to the
    /// node with the smallest free block that fits (best fit keeps large blocks whole); multinode requests
    /// take whole free nodes. Lowest free GPU indices first.</summary>
    public static IReadOnlyList<NodeAllocation>? TryPlace(string gpuType, int gpuCount, int nodeCount, IReadOnlyList<ComputeNode> nodes, IReadOnlyCollection<GpuAllocation> allocations)
    {
        var candidates = FreeByNode(gpuType, nodes, allocations);
        if (gpuCount == 0)
        {
            var node = candidates.FirstOrDefault();
            return node.Node is null ? null : [new NodeAllocation(0, node.Node.Name, [])];
        }

        if (nodeCount <= 1)
        {
            var best = candidates.Where(c => c.Free.Count >= gpuCount).OrderBy(c => c.Free.Count).ThenBy(c => c.Node.Name, StringComparer.Ordinal).FirstOrDefault();
            return best.Node is null ? null : [new NodeAllocation(0, best.Node.Name, [.. best.Free.Take(gpuCount)])];
        }

        var perNode = gpuCount / nodeCount;
        var whole = candidates.Where(c => c.Free.Count >= perNode && c.Free.Count == c.Node.GpuCount).Take(nodeCount).ToList();
        return whole.Count < nodeCount ? null : [.. whole.Select((c, rank) => new NodeAllocation(rank, c.Node.Name, [.. c.Free.Take(perNode)]))];
    }

    /// <summary>Largest number of free GPUs of the type on one node, and the node that has it.</summary>
    public static (int Free, string? Node) LargestFreeBlock(string gpuType, IReadOnlyList<ComputeNode> nodes, IReadOnlyCollection<GpuAllocation> allocations)
    {
        var best = FreeByNode(gpuType, nodes, allocations).OrderByDescending(c => c.Free.Count).FirstOrDefault();
        return best.Node is null ? (0, null) : (best.Free.Count, best.Node.Name);
    }

    private static List<(ComputeNode Node, List<int> Free)> FreeByNode(string gpuType, IReadOnlyList<ComputeNode> nodes, IReadOnlyCollection<GpuAllocation> allocations)
    {
        var taken = allocations.Select(a => (a.Node, a.GpuIndex)).ToHashSet();
        return [.. nodes
            .Where(n => string.Equals(n.GpuType, gpuType, StringComparison.OrdinalIgnoreCase))
            .OrderBy(n => n.Name, StringComparer.Ordinal)
            .Select(n => (n, Enumerable.Range(0, n.GpuCount).Where(i => !taken.Contains((n.Name, i))).ToList()))];
    }
}

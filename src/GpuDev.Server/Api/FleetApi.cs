using GpuDev.Contracts;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using GpuDev.Server.Processing;

namespace GpuDev.Server.Api;

/// <summary><c>avail</c> and <c>status</c>: what is free, what is coming free, and the queue.</summary>
public static class FleetApi
{
    public static RouteGroupBuilder MapFleetApi(this RouteGroupBuilder api)
    {
        api.MapGet("/availability", AvailabilityAsync).WithName("Availability").WithTags("Fleet");
        api.MapGet("/status", StatusAsync).WithName("Status").WithTags("Fleet");
        return api;
    }

    internal static async Task<IResult> AvailabilityAsync(FleetView fleetView, EndHistory endHistory, CancellationToken cancellationToken)
    {
        var fleet = await fleetView.LoadAsync(cancellationToken);
        var likelyEnds = EndHistory.LikelyEnds(fleet, await endHistory.GetAsync(cancellationToken));
        var types = fleet.Nodes
            .GroupBy(n => n.GpuType, StringComparer.OrdinalIgnoreCase)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => Availability(fleet, likelyEnds, g.Key, [.. g]))
            .ToList();
        return TypedResults.Ok(new AvailabilityResponse(fleet.Now, types));
    }

    internal static async Task<IResult> StatusAsync(FleetView fleetView, IComputeProvider provider, CancellationToken cancellationToken)
    {
        var fleet = await fleetView.LoadAsync(cancellationToken);
        var held = fleet.Allocations.GroupBy(a => a.Node).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var total = fleet.Nodes.Sum(n => n.GpuCount);
        var reserved = fleet.Nodes.Sum(n => held.GetValueOrDefault(n.Name));
        return TypedResults.Ok(new ClusterStatusDto
        {
            Provider = provider.Name,
            At = fleet.Now,
            Nodes = fleet.Nodes.Count,
            TotalGpus = total,
            ReservedGpus = reserved,
            FreeGpus = total - reserved,
            ActiveReservations = fleet.Running.Count(r => r.Status == ReservationStatus.Active),
            PreparingReservations = fleet.Running.Count(r => r.Status == ReservationStatus.Preparing),
            QueuedReservations = fleet.Waiting.Count,
            NodeList = [.. fleet.Nodes.Select(n => new NodeStatusDto(n.Name, n.GpuType, n.GpuCount, n.GpuCount - held.GetValueOrDefault(n.Name), n.Simulated))],
        });
    }

    private static GpuAvailabilityDto Availability(FleetSnapshot fleet, Dictionary<string, DateTimeOffset> likelyEnds, string type, List<ComputeNode> nodes)
    {
        var names = nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        var onType = fleet.Allocations.Where(a => names.Contains(a.Node)).ToList();
        var freeByNode = nodes.Select(n => (Node: n, Free: n.GpuCount - onType.Count(a => a.Node == n.Name))).ToList();
        var largest = freeByNode.OrderByDescending(x => x.Free).ThenBy(x => x.Node.Name, StringComparer.Ordinal).First();
        DateTimeOffset? NextFree(IReadOnlyDictionary<string, DateTimeOffset> ends) => onType.Count == 0 ? null : onType.Min(a => ends[a.ReservationId]);
        DateTimeOffset? FullNode(IReadOnlyDictionary<string, DateTimeOffset> ends) => freeByNode.Any(x => x.Free == x.Node.GpuCount)
            ? fleet.Now
            : nodes.Select(n => onType.Where(a => a.Node == n.Name).Max(a => ends[a.ReservationId])).Min();
        var waiting = fleet.Waiting.Where(r => string.Equals(r.GpuType, type, StringComparison.OrdinalIgnoreCase)).ToList();
        return new GpuAvailabilityDto
        {
            GpuType = type,
            GpusPerNode = nodes.Max(n => n.GpuCount),
            Nodes = nodes.Count,
            Total = nodes.Sum(n => n.GpuCount),
            Free = freeByNode.Sum(x => x.Free),
            LargestFreeBlock = largest.Free,
            LargestFreeBlockNode = largest.Free > 0 ? largest.Node.Name : null,
            Queued = waiting.Count,
            QueuedGpus = waiting.Sum(r => r.GpuCount),
            NextFreeAt = NextFree(fleet.EndsAt),
            FullNodeFreeAt = FullNode(fleet.EndsAt),
            LikelyNextFreeAt = NextFree(likelyEnds),
            LikelyFullNodeFreeAt = FullNode(likelyEnds),
            Simulated = nodes.All(n => n.Simulated),
        };
    }
}

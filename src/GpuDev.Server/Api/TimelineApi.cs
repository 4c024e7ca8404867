using GpuDev.Contracts;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Server.Identity;
using GpuDev.Server.Processing;

namespace GpuDev.Server.Api;

/// <summary><c>GET /api/v1/timeline</c>: the fleet's future per node, the data behind the dashboard's timeline (issue 18).
/// Reservations holding GPUs run from their start to their booked end (and, where history says so, a likely sooner end);
/// waiting ones sit at their guaranteed start on the nodes the scheduler booked them on (<see cref="Reservation.PlannedNodes"/>),
/// with their likely start. Everyone sees every reservation's place and times, as in <c>list --user all</c>; the name and
/// the wait reason only the owner, added users and admins.</summary>
public static class TimelineApi
{
    public static RouteGroupBuilder MapTimelineApi(this RouteGroupBuilder api)
    {
        api.MapGet("/timeline", GetAsync).WithName("Timeline").WithTags("Fleet");
        return api;
    }

    internal static async Task<IResult> GetAsync(CurrentUser caller, FleetView fleetView, EndHistory endHistory, IReservationStore store, CancellationToken cancellationToken)
    {
        var fleet = await fleetView.LoadAsync(cancellationToken);
        var likelyEnds = EndHistory.LikelyEnds(fleet, await endHistory.GetAsync(cancellationToken));
        var running = fleet.Running.ToDictionary(r => r.Id, StringComparer.Ordinal);
        var items = new Dictionary<string, List<TimelineItemDto>>(StringComparer.Ordinal);

        foreach (var held in fleet.Allocations.GroupBy(a => (a.Node, a.ReservationId)))
        {
            var (node, id) = held.Key;
            var end = fleet.EndsAt[id];
            var r = running.GetValueOrDefault(id);
            // Ended (cancelled, expired, failed) but its GPUs are still being released: shown as "ending" until they are.
            var ended = r is null ? await store.GetReservationAsync(id, cancellationToken) : null;
            var item = r is null
                ? ended is null
                    ? new TimelineItemDto { ReservationId = id, User = "", Status = "ending", Gpus = held.Count(), Start = fleet.Now, End = end }
                    : Item(caller, ended, "ending", held.Count(), ended.StartedAt ?? fleet.Now, end)
                : Item(caller, r, r.Status.ToWire(), held.Count(), r.StartedAt ?? fleet.Now, end) with
                {
                    LikelyEnd = likelyEnds.TryGetValue(id, out var likely) && likely < end ? likely : null,
                };
            Add(items, node, item);
        }

        foreach (var r in fleet.Waiting.Where(r => r.EstimatedStartAt is not null && r.PlannedNodes.Count > 0))
        {
            var start = r.EstimatedStartAt!.Value;
            var perNode = r.NodeCount > 1 ? r.GpuCount / r.NodeCount : r.GpuCount;
            foreach (var node in r.PlannedNodes)
            {
                Add(items, node, Item(caller, r, "queued", perNode, start, start + TimeSpan.FromHours(r.Hours)) with
                {
                    LikelyStart = r.LikelyStartAt < start ? r.LikelyStartAt : null,
                });
            }
        }

        var nodes = fleet.Nodes
            .OrderBy(n => n.GpuType, StringComparer.Ordinal).ThenBy(n => n.Name, StringComparer.Ordinal)
            .Select(n => new TimelineNodeDto(n.Name, n.GpuType, n.GpuCount, n.Simulated,
                [.. items.GetValueOrDefault(n.Name, []).OrderBy(i => i.Start).ThenBy(i => i.ReservationId, StringComparer.Ordinal)]))
            .ToList();
        var until = nodes.SelectMany(n => n.Items).Select(i => i.End).DefaultIfEmpty(fleet.Now).Max();
        return TypedResults.Ok(new TimelineResponse(fleet.Now, until, nodes));
    }

    private static TimelineItemDto Item(CurrentUser caller, Reservation r, string status, int gpus, DateTimeOffset start, DateTimeOffset end)
    {
        var details = ReservationsApi.HasAccess(caller, r);
        return new TimelineItemDto
        {
            ReservationId = r.Id,
            User = r.UserName,
            Mine = r.UserId == caller.Id,
            Status = status,
            Gpus = gpus,
            Start = start,
            End = end,
            Name = details ? r.Name : null,
            Reason = details ? r.WaitReason : null,
        };
    }

    private static void Add(Dictionary<string, List<TimelineItemDto>> items, string node, TimelineItemDto item)
    {
        if (!items.TryGetValue(node, out var list))
        {
            items[node] = list = [];
        }

        list.Add(item);
    }
}

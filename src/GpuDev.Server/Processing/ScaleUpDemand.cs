using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using GpuDev.Core.Scheduling;
using GpuDev.Core.Storage;

namespace GpuDev.Server.Processing;

/// <summary>The scheduling pass's part for fleets that grow (providers with <see cref="INodeGroups"/>): a waiting request
/// that today's nodes can never hold (no ETA) but that fits once its node groups have grown gets a reason that says it
/// waits for new nodes, and the provider is told the demand of every such request so the autoscaler sees it (on
/// Kubernetes: pending placeholder pods). The demand is recomputed from the store's waiting set at every pass, so
/// requests that started, were cancelled or now fit lose their demand at the next pass, also after a crash or a restart.
/// Failures of the provider are logged and leave the plan as it was: starting what fits never waits on the autoscaler.</summary>
internal sealed partial class ScaleUpDemand(IComputeProvider provider, IReservationStore store, ILogger<ScaleUpDemand> logger)
{
    /// <summary>The plan with the wait reasons of requests that wait for new nodes, after the provider's demand was made to
    /// match them. The ETA of such a request stays null: when a node joins is up to the autoscaler and the cloud.</summary>
    public async Task<Plan> ApplyAsync(FleetSnapshot fleet, Plan plan, CancellationToken cancellationToken)
    {
        if (provider is not INodeGroups groups)
        {
            return plan;
        }

        IReadOnlyList<NodeGroup> all;
        try
        {
            all = await groups.ListNodeGroupsAsync(cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogGroupsFailed(logger, e);
            return plan;
        }

        var byId = fleet.Waiting.ToDictionary(r => r.Id, StringComparer.Ordinal);
        var demand = new List<NodeDemand>();
        var waits = new List<PlannedWait>(plan.Waits.Count);
        foreach (var wait in plan.Waits)
        {
            if (wait.EstimatedStartAt is null && all.Count > 0 && byId.TryGetValue(wait.ReservationId, out var r)
                && NodeGroupGrowth.For(r.GpuType, r.GpuCount, r.NodeCount, r.Options.NodeLabels, fleet.Nodes, all) is { CanStart: true } growth)
            {
                waits.Add(wait with { Reason = growth.WaitReason(r.GpuType, r.NodeCount, r.Options.NodeLabels) });
                var perNode = r.NodeCount > 1 ? r.GpuCount / r.NodeCount : r.GpuCount;
                demand.AddRange(growth.Take.Select(t => new NodeDemand(r.Id, t.Group.Name, t.Nodes, perNode, r.Options.NodeLabels)));
                continue;
            }

            waits.Add(wait);
        }

        try
        {
            if (demand.Count > 0)
            {
                // Read again just before the provider acts: a request another replica started since this pass loaded the
                // fleet must not get placeholders after its provisioning removed them.
                var still = await store.ListReservationsAsync(new ReservationQuery(Statuses: [ReservationStatus.Pending, ReservationStatus.Queued]), cancellationToken);
                var waiting = still.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
                demand.RemoveAll(d => !waiting.Contains(d.ReservationId));
            }

            await groups.ReconcileDemandAsync(demand, cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogDemandFailed(logger, e);
        }

        return plan with { Waits = waits };
    }

    [LoggerMessage(EventId = 1310, Level = LogLevel.Warning, Message = "Could not read the node groups; wait reasons do not mention them this pass")]
    private static partial void LogGroupsFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1311, Level = LogLevel.Warning, Message = "Could not update the demand for new nodes; retried at the next pass")]
    private static partial void LogDemandFailed(ILogger logger, Exception exception);
}

using GpuDev.Core.Reservations;

namespace GpuDev.Core.Scheduling;

/// <summary>What one planning pass decided: what starts now and, for everything else, when and why not yet.</summary>
public sealed record Plan(IReadOnlyList<PlannedStart> Starts, IReadOnlyList<PlannedWait> Waits);

/// <summary>Start now on these GPUs.</summary>
public sealed record PlannedStart(string ReservationId, IReadOnlyList<NodeAllocation> Placement);

/// <summary>Still waiting: <see cref="Position"/> among waiting requests of its GPU type (1 = next), the earliest
/// start the plan can promise if nothing ends early (null: never, with the current fleet), why, and the nodes it is
/// booked on (empty without an estimate): pass them back as its <see cref="PlannedSlot"/> to keep the promise.</summary>
public sealed record PlannedWait(string ReservationId, int Position, DateTimeOffset? EstimatedStartAt, string Reason)
{
    public IReadOnlyList<string> Nodes { get; init; } = [];
}

/// <summary>Where and when an earlier pass booked a waiting request: the next pass holds it for the request, so the
/// request starts there or sooner.</summary>
public sealed record PlannedSlot(DateTimeOffset Start, IReadOnlyList<string> Nodes);

/// <summary>A waiting request whose promised start (<paramref name="PromisedAt"/>) the fleet can no longer keep: its slot
/// would be held from <paramref name="HeldFrom"/> instead (<see cref="BackfillPlanner.DelayedPromises"/>).</summary>
public sealed record DelayedPromise(string ReservationId, DateTimeOffset PromisedAt, DateTimeOffset HeldFrom);

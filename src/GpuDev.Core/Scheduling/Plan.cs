using GpuDev.Core.Reservations;

namespace GpuDev.Core.Scheduling;

/// <summary>What one planning pass decided: what starts now and, for everything else, when and why not yet.</summary>
public sealed record Plan(IReadOnlyList<PlannedStart> Starts, IReadOnlyList<PlannedWait> Waits);

/// <summary>Start now on these GPUs.</summary>
public sealed record PlannedStart(string ReservationId, IReadOnlyList<NodeAllocation> Placement);

/// <summary>Still waiting: <see cref="Position"/> among waiting requests of its GPU type (1 = next), the earliest
/// start the plan can promise if nothing ends early (null: never, with the current fleet), and why.</summary>
public sealed record PlannedWait(string ReservationId, int Position, DateTimeOffset? EstimatedStartAt, string Reason);

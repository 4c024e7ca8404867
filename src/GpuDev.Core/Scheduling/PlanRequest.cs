namespace GpuDev.Core.Scheduling;

/// <summary>A waiting request, in arrival order.</summary>
public sealed record PlanRequest(string ReservationId, string GpuType, int GpuCount, int NodeCount, TimeSpan Duration);

namespace GpuDev.Core.Jobs;

public sealed record JobRequest(JobKind Kind, string ReservationId, DateTimeOffset RunAfter);

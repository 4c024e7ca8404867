namespace GpuDev.Core.Jobs;

/// <summary>A durable unit of work, claimed with a lease. <see cref="Attempts"/> counts claims so far (this one included).</summary>
public sealed record Job(long Id, JobKind Kind, string ReservationId, int Attempts, DateTimeOffset RunAfter, DateTimeOffset CreatedAt, string? LastError)
{
    /// <summary>The worker holding the job's lease (<c>host:pid:instance</c>), or null.</summary>
    public string? LeaseOwner { get; init; }

    public DateTimeOffset? LeaseUntil { get; init; }
}

namespace GpuDev.Core.Jobs;

/// <summary>Named leases that make a singleton worker (the scheduler, the lifecycle worker) run on one server replica
/// at a time. A lease is held until it expires unless its owner renews it; then any replica may take it over.
/// The store's guarantees (conditional transitions, one allocation per GPU) keep two holders safe in the moment a
/// lease changes hands; the lease keeps them from working against each other all the time.</summary>
public interface IWorkerLeases
{
    /// <summary>Takes the lease <paramref name="name"/> for <paramref name="owner"/> until now + <paramref name="ttl"/>, or
    /// renews it when <paramref name="owner"/> holds it already. False (nothing written) while another owner's lease runs.</summary>
    Task<bool> TryAcquireAsync(string name, string owner, TimeSpan ttl, CancellationToken cancellationToken);

    /// <summary>Gives the lease up if <paramref name="owner"/> holds it (another replica can take it at once).</summary>
    Task ReleaseAsync(string name, string owner, CancellationToken cancellationToken);

    /// <summary>The lease as stored (expired or not), or null (for tests and operations).</summary>
    Task<WorkerLease?> GetLeaseAsync(string name, CancellationToken cancellationToken);
}

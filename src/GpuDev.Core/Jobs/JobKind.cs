namespace GpuDev.Core.Jobs;

public enum JobKind
{
    /// <summary>A new request's first job, stored with it: run a scheduling pass now, on whichever replica claims it.</summary>
    Schedule,

    /// <summary>Create the environment and wait until ssh answers; then active.</summary>
    Provision,

    /// <summary>Remove the environment of an ended reservation and free its GPUs.</summary>
    Teardown,

    /// <summary>Deliver the reservation's recorded, undelivered expiry warnings.</summary>
    Warn,
}

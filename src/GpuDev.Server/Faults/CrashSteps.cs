namespace GpuDev.Server.Faults;

/// <summary>The named points where a test may make the server kill itself (<c>Server:CrashAt</c>). Each sits right
/// after (or right before) a durable change, where a real crash would hurt most.</summary>
public static class CrashSteps
{
    /// <summary>SchedulerWorker: placement, GPU allocation and provisioning job committed (reservation preparing).</summary>
    public const string AfterAllocate = "after-allocate";

    /// <summary>ProvisionHandler: the provider reports the environment ready; the reservation is still preparing.</summary>
    public const string AfterEnsure = "after-ensure";

    /// <summary>ProvisionHandler: the move to active committed; the provision job is not yet completed.</summary>
    public const string AfterActive = "after-active";

    /// <summary>ReservationService.CancelAsync: cancelled + teardown job committed; no answer sent yet.</summary>
    public const string AfterCancelCommitted = "after-cancel-committed";

    /// <summary>TeardownHandler: the environment is removed; its GPUs are still allocated.</summary>
    public const string TeardownAfterRemove = "teardown-after-remove";

    /// <summary>TeardownHandler: GPUs released; the teardown job is not yet completed.</summary>
    public const string TeardownAfterRelease = "teardown-after-release";

    /// <summary>LifecycleWorker: expired + teardown job committed.</summary>
    public const string AfterExpireCommitted = "after-expire-committed";

    /// <summary>TeardownHandler: the disk snapshot is written by the provider but not yet recorded in the store.</summary>
    public const string SnapshotBeforeRecord = "snapshot-before-record";

    /// <summary>TeardownHandler: the snapshot is recorded and the disk available; GPUs not yet released.</summary>
    public const string AfterSnapshot = "after-snapshot";

    public static IReadOnlyList<string> All { get; } =
    [
        AfterAllocate, AfterEnsure, AfterActive, AfterCancelCommitted, TeardownAfterRemove, TeardownAfterRelease,
        AfterExpireCommitted, SnapshotBeforeRecord, AfterSnapshot,
    ];
}

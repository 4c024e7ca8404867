namespace GpuDev.Server.Reservations;

/// <summary>Per-user limits (section <c>Quotas</c>, e.g. <c>GPUDEV_QUOTAS__MAXQUEUEDPERUSER=3</c>); unset: no limit.</summary>
public sealed class QuotaOptions
{
    public const string Section = "Quotas";

    /// <summary>GPUs one user may hold at once (preparing and active reservations, this request included).</summary>
    public int? MaxGpusPerUser { get; set; }

    /// <summary>Requests one user may have waiting (pending and queued).</summary>
    public int? MaxQueuedPerUser { get; set; }

    /// <summary>GPU-hours one user may book in any 7 days: live reservations count as booked (with extensions), ended
    /// ones as used (start to end), each from when it was requested.</summary>
    public double? MaxGpuHoursPerWeek { get; set; }

    /// <summary>Fair share: waiting requests are planned in order of their owner's GPU-hours used in the last 7 days
    /// (least first), then oldest first, instead of oldest first alone. Promised starts still hold (every waiting request
    /// keeps its booked slot, see <c>BackfillPlanner</c>): the order decides who gets the GPUs that free early and
    /// where new requests are booked, and never delays anyone past a start already told.</summary>
    public bool FairShare { get; set; }
}

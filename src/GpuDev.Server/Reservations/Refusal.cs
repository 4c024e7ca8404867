using GpuDev.Core.Disks;
using GpuDev.Core.Reservations;

namespace GpuDev.Server.Reservations;

/// <summary>Why the service refused a request, in the domain's words. The API layer alone turns a kind into an
/// HTTP status and a ProblemDetails body (<c>Api.RefusalProblems</c>); the service knows nothing of HTTP.</summary>
internal enum RefusalKind
{
    /// <summary>Malformed input; <see cref="Refusal.Field"/> names it.</summary>
    BadInput,

    /// <summary>Breaks reservation rules; <see cref="Refusal.Violations"/> lists them.</summary>
    RuleViolations,

    /// <summary>The provider cannot do this (custom images on a provider without them).</summary>
    NotSupported,

    /// <summary>No node of this site could ever hold the request.</summary>
    NeverFits,

    /// <summary>No reservation the caller may see matches.</summary>
    ReservationNotFound,

    /// <summary>An id prefix matches several reservations.</summary>
    AmbiguousId,

    /// <summary>The caller has no disk of that name (<see cref="Refusal.DiskName"/>).</summary>
    DiskNotFound,

    /// <summary>The disk is held by another reservation; <see cref="Refusal.Disk"/> says which.</summary>
    DiskInUse,

    /// <summary>An added user tried what only the owner or an admin may do.</summary>
    NotOwner,

    /// <summary>The reservation's status does not allow the change.</summary>
    InvalidTransition,

    /// <summary>The change conflicts with the reservation's state (e.g. extended once already).</summary>
    Conflict,

    /// <summary>Something the change needs is not reachable now (the environment, a user's keys).</summary>
    Unavailable,

    /// <summary>Over one of the caller's quotas; the detail says which, the usage and when it frees.</summary>
    QuotaExceeded,
}

internal sealed record Refusal(RefusalKind Kind, string Detail)
{
    public string? Field { get; init; }

    public IReadOnlyList<RuleViolation> Violations { get; init; } = [];

    /// <summary>The disk a <see cref="RefusalKind.DiskInUse"/> refusal is about.</summary>
    public Disk? Disk { get; init; }

    /// <summary>The name a <see cref="RefusalKind.DiskNotFound"/> refusal looked for.</summary>
    public string? DiskName { get; init; }

    public static Refusal BadInput(string detail, string field) => new(RefusalKind.BadInput, detail) { Field = field };
}

/// <summary>A value, or the refusal that stands in its place.</summary>
internal readonly record struct Outcome<T>(T? Value, Refusal? Refusal)
    where T : class
{
    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(Refusal refusal) => new(null, refusal);
}

/// <summary>A created reservation, or the earlier one an idempotency key already made (<see cref="Created"/> false).</summary>
internal sealed record CreatedReservation(Reservation Reservation, bool Created);

/// <summary>What <c>gpu-dev edit</c> asks for; null fields change nothing.</summary>
internal sealed record ReservationChangeRequest(double? ExtendHours, bool? Jupyter, IReadOnlyList<string>? AddUsers);

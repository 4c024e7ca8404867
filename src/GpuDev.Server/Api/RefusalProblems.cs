using GpuDev.Server.Disks;
using GpuDev.Server.Reservations;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GpuDev.Server.Api;

/// <summary>The one place a service's <see cref="Refusal"/> becomes an HTTP status and a ProblemDetails body.</summary>
internal static class RefusalProblems
{
    public static ProblemHttpResult ToProblem(this Refusal refusal) => refusal.Kind switch
    {
        RefusalKind.BadInput => Problems.BadRequest(refusal.Detail, refusal.Field ?? "request"),
        RefusalKind.RuleViolations => Problems.Validation(refusal.Violations),
        RefusalKind.NotSupported => Problems.NotSupported(refusal.Detail),
        RefusalKind.NeverFits => Problems.InsufficientCapacity(refusal.Detail),
        RefusalKind.ReservationNotFound => Problems.NotFound(refusal.Detail),
        RefusalKind.AmbiguousId => Problems.Ambiguous(refusal.Detail),
        RefusalKind.DiskNotFound => DisksApi.NotFound(refusal.DiskName ?? ""),
        RefusalKind.DiskInUse when refusal.Disk is { } disk => DisksApi.InUse(disk, forReservation: true),
        RefusalKind.DiskInUse => Problems.Conflict(refusal.Detail),
        RefusalKind.NotOwner => Problems.Forbidden(refusal.Detail),
        RefusalKind.InvalidTransition => Problems.InvalidTransition(refusal.Detail),
        RefusalKind.Conflict => Problems.Conflict(refusal.Detail),
        RefusalKind.Unavailable => Problems.Unavailable(refusal.Detail),
        RefusalKind.QuotaExceeded => Problems.Create(StatusCodes.Status429TooManyRequests, GpuDev.Contracts.ProblemCodes.QuotaExceeded, "Over a quota.", refusal.Detail),
        _ => throw new ArgumentOutOfRangeException(nameof(refusal), refusal.Kind, "A refusal kind without an HTTP mapping."),
    };
}

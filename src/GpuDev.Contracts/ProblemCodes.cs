namespace GpuDev.Contracts;

/// <summary>Stable codes in <see cref="ProblemDto.Code"/> (the problem <c>type</c> is <c>urn:gpu-dev:problem:{code}</c>).</summary>
public static class ProblemCodes
{
    public const string Validation = "validation";
    public const string Unauthorized = "unauthorized";
    public const string Forbidden = "forbidden";
    public const string NotFound = "not-found";
    public const string AmbiguousId = "ambiguous-id";
    public const string Conflict = "conflict";
    public const string InsufficientCapacity = "insufficient-capacity";
    public const string NotSupported = "not-supported";
    public const string Unavailable = "unavailable";
    public const string InvalidTransition = "invalid-transition";
    public const string BadRequest = "bad-request";
    public const string Internal = "internal";
    public const string TooManyRequests = "too-many-requests";
    public const string NotReady = "not-ready";
    public const string QuotaExceeded = "quota-exceeded";

    public static string TypeUri(string code) => $"urn:gpu-dev:problem:{code}";
}

namespace GpuDev.Contracts;

/// <summary>Body of <c>PATCH /api/v1/reservations/{id}</c> (<c>gpu-dev edit</c>). Null fields change nothing;
/// several may be given at once and are applied all or nothing.</summary>
public sealed record EditReservationRequest
{
    /// <summary>Hours to add to the end time (0 &lt; h ≤ 24; once per reservation; total lifetime ≤ 48 h).</summary>
    public double? ExtendHours { get; init; }

    /// <summary>True starts Jupyter Lab, false stops it.</summary>
    public bool? Jupyter { get; init; }

    /// <summary>GitHub users to add as secondary users (their keys may ssh in; they may show and connect).</summary>
    public List<string>? AddUsers { get; init; }
}

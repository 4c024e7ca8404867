namespace GpuDev.Contracts;

/// <summary>Body of <c>POST /api/v1/reservations</c>. Null <see cref="GpuCount"/> means 1 for GPU types and 0 for CPU types.</summary>
public sealed record CreateReservationRequest
{
    public string? GpuType { get; init; }

    public int? GpuCount { get; init; }

    public double Hours { get; init; }

    public string? Name { get; init; }

    public bool Jupyter { get; init; }

    public string? Disk { get; init; }

    public bool NoPersist { get; init; }

    public bool IgnoreNoPersist { get; init; }

    public bool RecreateEnv { get; init; }

    public bool Distributed { get; init; }

    public string? DockerImage { get; init; }

    /// <summary>Dockerfile contents (not a path).</summary>
    public string? Dockerfile { get; init; }

    /// <summary>With <see cref="Dockerfile"/>: the SHA-256 (64 lowercase hex) of the build context, a gzip-compressed tar
    /// uploaded first with <c>PUT /api/v1/build-contexts/{sha256}</c>.</summary>
    public string? BuildContext { get; init; }

    public bool PreserveEntrypoint { get; init; }

    public Dictionary<string, string>? NodeLabels { get; init; }
}

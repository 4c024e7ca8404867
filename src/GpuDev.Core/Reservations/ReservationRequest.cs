namespace GpuDev.Core.Reservations;

/// <summary>What a user asks for; validated by <see cref="ReservationRules"/> before anything is stored.</summary>
public sealed record ReservationRequest
{
    public string? GpuType { get; init; }

    /// <summary>Null means the default: 1 for GPU types, 0 for CPU-only types.</summary>
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

    /// <summary>Dockerfile text, when the user gave one.</summary>
    public string? Dockerfile { get; init; }

    /// <summary>The uploaded build context of <see cref="Dockerfile"/> (its SHA-256), if any.</summary>
    public string? BuildContext { get; init; }

    public bool PreserveEntrypoint { get; init; }

    public IReadOnlyDictionary<string, string>? NodeLabels { get; init; }
}

namespace GpuDev.Core.Reservations;

/// <summary>How a reservation's environment is built and where it may run, beyond GPUs and time: a custom image
/// (<c>--dockerimage</c> or <c>--dockerfile</c>), whether the image's own entrypoint is kept, and node labels that
/// restrict placement (<c>--node-label k=v</c>; <c>nsight=true</c> asks for profiling nodes). Fixed at creation.</summary>
public sealed record EnvironmentOptions
{
    public static readonly EnvironmentOptions None = new();

    public string? DockerImage { get; init; }

    /// <summary>Dockerfile text (at most <see cref="ReservationRules.MaxDockerfileBytes"/>), built in the cluster.</summary>
    public string? Dockerfile { get; init; }

    /// <summary>The build context of <see cref="Dockerfile"/>: the SHA-256 of a gzip-compressed tar kept by the server at
    /// <see cref="BuildContexts.RelativePath"/> under its data directory. Null: the Dockerfile alone.</summary>
    public string? BuildContext { get; init; }

    public bool PreserveEntrypoint { get; init; }

    public IReadOnlyDictionary<string, string> NodeLabels { get; init; } = new Dictionary<string, string>();

    /// <summary>True when <c>nsight=true</c> is among the labels: profiling nodes, SYS_ADMIN and driver capabilities.</summary>
    public bool Nsight => NodeLabels.TryGetValue("nsight", out var value) && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);

    public bool IsDefault => DockerImage is null && Dockerfile is null && BuildContext is null && !PreserveEntrypoint && NodeLabels.Count == 0;
}

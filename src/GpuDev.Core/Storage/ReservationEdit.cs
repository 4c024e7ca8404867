namespace GpuDev.Core.Storage;

/// <summary>Changes to an active reservation (<c>gpu-dev edit</c>). Null fields change nothing.</summary>
public sealed record ReservationEdit(string ReservationId)
{
    public DateTimeOffset? ExpiresAt { get; init; }

    public double? ExtendedHours { get; init; }

    /// <summary>Forget recorded warnings (after an extension they are due again before the new end).</summary>
    public bool ClearWarnings { get; init; }

    public bool? Jupyter { get; init; }

    /// <summary>Set with <see cref="Jupyter"/>: the URL while it runs, null once stopped.</summary>
    public string? JupyterUrl { get; init; }

    public IReadOnlyList<string>? AddUsers { get; init; }

    public DateTimeOffset At { get; init; }
}

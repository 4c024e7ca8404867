using GpuDev.Core.Reservations;

namespace GpuDev.Core.Compute;

/// <summary>Everything a provider needs to build one reservation's environment. Deterministic for a reservation,
/// so every provider call with it is safe to repeat.</summary>
public sealed record EnvironmentSpec
{
    /// <summary>Reservation id: lowercase hex, safe in file names, user names and Kubernetes object names.</summary>
    public required string ReservationId { get; init; }

    /// <summary>The owner's user name on the server (validated: <c>[a-z0-9][a-z0-9_-]*</c>).</summary>
    public required string Owner { get; init; }

    /// <summary>OpenSSH public key lines accepted for login (owner's and added users'), already validated.</summary>
    public required IReadOnlyList<string> AuthorizedKeys { get; init; }

    /// <summary>Nodes and GPU indices, ordered by rank.</summary>
    public required IReadOnlyList<NodeAllocation> Allocations { get; init; }

    public required string GpuType { get; init; }

    /// <summary>Extra environment variables for sessions (the provider adds CUDA/RANK variables itself).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The named disk to mount as <c>/home/dev</c>; null for a temporary home removed at the end.</summary>
    public string? DiskId { get; init; }

    /// <summary>With a disk: move the existing shell dotfiles into a backup folder and start from fresh ones.</summary>
    public bool RecreateEnv { get; init; }

    /// <summary>Custom image, entrypoint and node labels asked for (providers without custom images get the defaults).</summary>
    public EnvironmentOptions Options { get; init; } = EnvironmentOptions.None;

    /// <summary>The reservation asked for Jupyter (providers that expose it through their own port need to know early).</summary>
    public bool Jupyter { get; init; }
}

using System.Globalization;

namespace GpuDev.Compute.LocalHost;

/// <summary>Host paths and podman names of one environment. Everything of it on the host lives in <see cref="EnvDir"/> (removed
/// with it), except the named disk (<see cref="DiskHome"/>) and the owner's <c>/shared-personal</c> and <c>/ccache</c>.</summary>
internal sealed record EnvironmentLayout(string StateDir, string ReservationId)
{
    public const string ReservationLabel = "gpu-dev.io/reservation";
    public const string RankLabel = "gpu-dev.io/rank";

    /// <summary>Tells the environments of one server (its StateDir) from those of another on the same host.</summary>
    public const string InstanceLabel = "gpu-dev.io/instance";

    public string EnvDir => Path.Combine(StateDir, "envs", ReservationId);

    /// <summary>Mounted read-only at <see cref="GpuDev.Core.Compute.EnvironmentContract.ConfigPath"/> (entry script, warnings, Jupyter wish).</summary>
    public string ConfigDir => Path.Combine(EnvDir, "config");

    /// <summary>Mounted read-only at <see cref="GpuDev.Core.Compute.EnvironmentContract.KeysPath"/>; owned by container root.</summary>
    public string KeysDir => Path.Combine(EnvDir, "keys");

    public string RecordFile => Path.Combine(EnvDir, "env.json");

    /// <summary>Rank 0's home when the reservation has a named disk: the disk's data directory. Null for a temporary home.</summary>
    public string? DiskHome { get; init; }

    /// <summary>Written once the reservation's disk is given to the container's <c>dev</c>: <c>&lt;diskId&gt; &lt;uid&gt;:&lt;gid&gt;</c>.</summary>
    public string DiskAttachedStamp => Path.Combine(EnvDir, "disk_attached");

    /// <summary>Multinode: the directory every rank sees at <c>/shared</c>.</summary>
    public string Shared => Path.Combine(EnvDir, "shared");

    public string Network => "gpudev-" + ReservationId;

    /// <summary>The temporary home of rank <paramref name="rank"/> (not used for rank 0 with a disk).</summary>
    public string TempHome(int rank) => Path.Combine(EnvDir, "home-" + Rank(rank));

    public string Home(int rank) => rank == 0 && DiskHome is not null ? DiskHome : TempHome(rank);

    public string Container(int rank) => "gpudev-" + ReservationId + "-" + Rank(rank);

    /// <summary>Host name of a rank, resolvable by the other ranks: the first 12 hex characters of the id, a dash and the rank.</summary>
    public string Hostname(int rank) => ReservationId[..12] + "-" + Rank(rank);

    public string SharedPersonal(string owner) => Path.Combine(StateDir, "shared-personal", owner);

    /// <summary>The owner's compiler cache (per user: no tenant can change what another one's compiler runs).</summary>
    public string Ccache(string owner) => Path.Combine(StateDir, "ccache", owner);

    private static string Rank(int rank) => rank.ToString(CultureInfo.InvariantCulture);
}

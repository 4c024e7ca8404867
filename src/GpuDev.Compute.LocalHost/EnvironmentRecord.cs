namespace GpuDev.Compute.LocalHost;

/// <summary>What the provider keeps about one environment in <c>&lt;StateDir&gt;/envs/&lt;id&gt;/env.json</c>, written before any
/// container is created. <paramref name="Ports"/>: every rank's published sshd port, in rank order; <paramref name="JupyterPort"/>:
/// rank 0's published Jupyter port; <paramref name="UidBase"/>: the host uid of container root (the owner's range);
/// <paramref name="DiskId"/>: the named disk that is rank 0's home (null: a temporary home); <paramref name="PreserveEntrypoint"/>:
/// the image's own command runs, so the environment counts as ready once its containers run (SSH is the image's).</summary>
internal sealed record EnvironmentRecord(
    string ReservationId,
    string Owner,
    IReadOnlyList<int> Ports,
    int JupyterPort,
    long UidBase,
    string Image,
    DateTimeOffset CreatedAt,
    string? DiskId = null,
    bool PreserveEntrypoint = false)
{
    public int NodeCount => Ports.Count;

    /// <summary>The host uid of the container's <c>dev</c>.</summary>
    public long DevUid => UidBase + GpuDev.Core.Compute.EnvironmentContract.DevUid;

    public EnvironmentRecord WithPort(int rank, int port)
    {
        var ports = Ports.ToArray();
        ports[rank] = port;
        return this with { Ports = ports };
    }
}

using System.Globalization;

namespace GpuDev.Compute.LocalHost;

/// <summary>Paths and OS names of one environment, seen from one of its nodes (<paramref name="Rank"/>).
/// Rank 0 lives directly in <see cref="EnvDir"/> (the single-node layout); rank r ≥ 1 in <c>EnvDir/node-r</c>.</summary>
internal sealed record EnvironmentLayout(string StateDir, string ReservationId, int Rank = 0)
{
    public string EnvDir => Path.Combine(StateDir, "envs", ReservationId);

    /// <summary>Directory of this rank's own files (home, host key, sshd_config, ForceCommand, pid, log).</summary>
    public string NodeDir => Rank == 0 ? EnvDir : Path.Combine(EnvDir, "node-" + Rank.ToString(CultureInfo.InvariantCulture));

    /// <summary>Rank 0's home when the reservation has a named disk: the disk's data directory (outside <see cref="EnvDir"/>,
    /// never linked from it). Null for a temporary home.</summary>
    public string? DiskHome { get; init; }

    /// <summary>The home of this rank's sessions: the disk (<see cref="DiskHome"/>) for rank 0 of a reservation with a disk,
    /// else <see cref="NodeHome"/>.</summary>
    public string Home => Rank == 0 && DiskHome is not null ? DiskHome : NodeHome;

    /// <summary><c>home</c> in this rank's directory: the temporary home (removed with the environment), or, for rank 0 of a
    /// reservation with a disk, an empty directory that only serves as the passwd home outside the sandbox.</summary>
    public string NodeHome => Path.Combine(NodeDir, "home");

    public string HostKey => Path.Combine(NodeDir, "ssh_host_ed25519_key");

    public string HostKeyPub => HostKey + ".pub";

    /// <summary>Shared by every rank: the users' keys (and, multinode, the reservation's node key).</summary>
    public string AuthorizedKeys => Path.Combine(EnvDir, "authorized_keys");

    public string SshdConfig => Path.Combine(NodeDir, "sshd_config");

    public string EnterScript => Path.Combine(NodeDir, "enter.sh");

    public string PidFile => Path.Combine(NodeDir, "sshd.pid");

    public string LogFile => Path.Combine(NodeDir, "sshd.log");

    /// <summary>Stamp of the <c>~/.ssh</c> files last installed into this rank's home (multinode).</summary>
    public string SshClientStamp => Path.Combine(NodeDir, "ssh_client.stamp");

    public string RecordFile => Path.Combine(EnvDir, "env.json");

    /// <summary>Written (root-only) once the reservation's disk is attached to its uid: <c>&lt;diskId&gt; &lt;uid&gt;:&lt;gid&gt;</c>.</summary>
    public string DiskAttachedStamp => Path.Combine(EnvDir, "disk_attached");

    /// <summary>Written (root-only) once <see cref="GpuDev.Core.Compute.EnvironmentSpec.RecreateEnv"/> has recreated the disk's
    /// dotfiles for this reservation, so a repeated Ensure does not do it again: <c>&lt;diskId&gt;</c>.</summary>
    public string EnvRecreatedStamp => Path.Combine(EnvDir, "env_recreated");

    /// <summary>Multinode: the directory every rank sees at <c>/shared</c>.</summary>
    public string Shared => Path.Combine(EnvDir, "shared");

    /// <summary>Multinode: the reservation's key pair for SSH between its nodes (private key owned by the reservation's uid, 0600).</summary>
    public string NodeKey => Path.Combine(EnvDir, "node_key");

    public string NodeKeyPub => NodeKey + ".pub";

    /// <summary>Multinode: the <c>~/.ssh/config</c> and <c>~/.ssh/known_hosts_gpudev</c> installed in every rank's home.</summary>
    public string SshClientConfig => Path.Combine(EnvDir, "ssh_config");

    public string SshKnownHosts => Path.Combine(EnvDir, "known_hosts");

    /// <summary>Multinode: bound over <c>/etc/hosts</c> in every rank's sandbox.</summary>
    public string HostsFile => Path.Combine(EnvDir, "hosts");

    /// <summary>Host name of this rank inside its sandbox: the first 12 hex characters of the id, a dash and the rank.</summary>
    public string Hostname => ReservationId[..12] + "-" + Rank.ToString(CultureInfo.InvariantCulture);

    public string Ccache => Path.Combine(StateDir, "ccache");

    /// <summary>OS user of the environment (all ranks): <c>gpudev-</c> plus the first 12 hex characters of the id.</summary>
    public string UserName => "gpudev-" + ReservationId[..12];

    /// <summary>Home directory of <see cref="UserName"/> in the passwd database (rank 0's home).</summary>
    public string PasswdHome => Path.Combine(EnvDir, "home");

    /// <summary>The running Jupyter server (pid, port, token), rank 0 only; see <see cref="JupyterRecord"/>.</summary>
    public string JupyterFile => Path.Combine(EnvDir, "jupyter.json");

    /// <summary>Written by the Jupyter launcher (root-owned directory): the pid of the process that holds the sandbox.</summary>
    public string JupyterPidFile => Path.Combine(EnvDir, "jupyter.pid");

    public string JupyterLog => Path.Combine(EnvDir, "jupyter.log");

    public EnvironmentLayout ForRank(int rank) => this with { Rank = rank };

    public string SharedPersonal(string owner) => Path.Combine(StateDir, "shared-personal", owner);

    /// <summary>Group shared by all environments of one owner (for <c>/shared-personal</c>).</summary>
    public static string OwnerGroup(string owner) =>
        owner.Length <= 22 ? "gpudev-o-" + owner : "gpudev-o-" + LocalPaths.ShortHash(owner);
}

namespace GpuDev.Compute.LocalHost;

/// <summary>Paths and OS names of one environment.</summary>
internal sealed record EnvironmentLayout(string StateDir, string ReservationId)
{
    public string EnvDir => Path.Combine(StateDir, "envs", ReservationId);

    public string Home => Path.Combine(EnvDir, "home");

    public string HostKey => Path.Combine(EnvDir, "ssh_host_ed25519_key");

    public string HostKeyPub => HostKey + ".pub";

    public string AuthorizedKeys => Path.Combine(EnvDir, "authorized_keys");

    public string SshdConfig => Path.Combine(EnvDir, "sshd_config");

    public string EnterScript => Path.Combine(EnvDir, "enter.sh");

    public string PidFile => Path.Combine(EnvDir, "sshd.pid");

    public string LogFile => Path.Combine(EnvDir, "sshd.log");

    public string RecordFile => Path.Combine(EnvDir, "env.json");

    public string Ccache => Path.Combine(StateDir, "ccache");

    /// <summary>OS user of the environment: <c>gpudev-</c> plus the first 12 hex characters of the id.</summary>
    public string UserName => "gpudev-" + ReservationId[..12];

    public string SharedPersonal(string owner) => Path.Combine(StateDir, "shared-personal", owner);

    /// <summary>Group shared by all environments of one owner (for <c>/shared-personal</c>).</summary>
    public static string OwnerGroup(string owner) =>
        owner.Length <= 22 ? "gpudev-o-" + owner : "gpudev-o-" + LocalPaths.ShortHash(owner);
}

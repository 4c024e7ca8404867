namespace GpuDev.Compute.LocalHost;

/// <summary>Configuration section <c>LocalHost</c> of the local-host compute provider.</summary>
public sealed class LocalHostOptions
{
    public const string SectionName = "LocalHost";

    /// <summary>Declared (simulated) nodes, e.g. <c>h100:8,h100:8,t4:4</c>; one node per item, named <c>local-0</c>, <c>local-1</c>, …
    /// Empty: discover with <c>nvidia-smi</c>, else one simulated <c>h100:8</c> node.</summary>
    public string? Gpus { get; set; }

    /// <summary>Ports handed to per-reservation sshd processes, <c>FIRST-LAST</c>.</summary>
    public string PortRange { get; set; } = "30000-32767";

    /// <summary>Host name or address that clients use to reach the environments.</summary>
    public string SshHost { get; set; } = "127.0.0.1";

    /// <summary>Where environments live. Default: <c>/var/lib/gpu-dev/&lt;hash of data dir&gt;</c> when root, else <c>&lt;dataDir&gt;/local</c>.</summary>
    public string? StateDir { get; set; }

    /// <summary><c>auto</c> (bubblewrap when it works), <c>bubblewrap</c> or <c>none</c>.</summary>
    public string Sandbox { get; set; } = "auto";

    public string SshdPath { get; set; } = "/usr/sbin/sshd";

    public string BwrapPath { get; set; } = "/usr/bin/bwrap";

    /// <summary>How long <c>EnsureEnvironmentAsync</c> waits for a successful SSH handshake.</summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time limit for each helper process (useradd, ssh-keygen, ssh-keyscan, …).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How long removal waits for every process of an environment to be gone.</summary>
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long <c>StartJupyterAsync</c> waits for Jupyter to answer HTTP.</summary>
    public TimeSpan JupyterStartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Where Jupyter (<c>jupyter-lab</c>, <c>jupyter-notebook</c>) is looked for; null: the server's PATH. Tests only.</summary>
    internal string? JupyterSearchPath { get; set; }

    /// <summary>Interval between readiness probes.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(75);
}

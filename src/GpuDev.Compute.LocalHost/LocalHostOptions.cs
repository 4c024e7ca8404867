namespace GpuDev.Compute.LocalHost;

/// <summary>Configuration section <c>LocalHost</c> of the local-host compute provider (one podman container per rank).</summary>
public sealed class LocalHostOptions
{
    public const string Section = "LocalHost";

    /// <summary>The image of every environment: gpu-dev's own small Debian image (<c>images/devbox/build.sh</c>) by default;
    /// <c>images/devserver</c> (PyTorch, CUDA) for GPU sites. Server option <c>--image</c>.</summary>
    public const string DevboxImage = "localhost/gpu-dev/devbox:latest";

    /// <summary>Declared (simulated) nodes, e.g. <c>h100:8,h100:8,t4:4</c>; one node per item, named <c>local-0</c>, <c>local-1</c>, …
    /// Empty: discover with <c>nvidia-smi</c>, else one simulated <c>h100:8</c> node.</summary>
    public string? Gpus { get; set; }

    /// <summary>Host ports handed to environments (sshd, Jupyter), <c>FIRST-LAST</c>.</summary>
    public string PortRange { get; set; } = "30000-32767";

    /// <summary>Host name or address that clients use to reach the environments.</summary>
    public string SshHost { get; set; } = "127.0.0.1";

    /// <summary>The host address the ports are published on. Default: <see cref="SshHost"/> when it is an IP address
    /// (<c>localhost</c> is 127.0.0.1); a host name needs this set (<c>0.0.0.0</c> for every address).</summary>
    public string? PublishAddress { get; set; }

    /// <summary>Where environments live. Default: <c>/var/lib/gpu-dev/&lt;hash of data dir&gt;</c> when root, else <c>&lt;dataDir&gt;/local</c>.</summary>
    public string? StateDir { get; set; }

    /// <summary>The default image of environments (see <see cref="DevboxImage"/>).</summary>
    public string DefaultImage { get; set; } = DevboxImage;

    public string PodmanPath { get; set; } = "podman";

    /// <summary>The OCI runtime podman uses: <c>auto</c> (runc when installed: crun fails on cgroup v1/hybrid hosts), or a name.</summary>
    public string Runtime { get; set; } = "auto";

    /// <summary>As root: the first host uid of the ranges mapped into containers; owner n gets
    /// <c>UidBase + n × 65536</c> .. +65535 (container root is never host root).</summary>
    public long UidBase { get; set; } = 1_000_000_000;

    /// <summary>Part of the host's CPUs and memory that one node's GPUs stand for (as on Kubernetes); each environment gets its
    /// GPUs' share of it, at least one CPU and 1 GiB.</summary>
    public double ResourceShare { get; set; } = 0.9;

    /// <summary>How long <c>EnsureEnvironmentAsync</c> waits for a successful SSH handshake.</summary>
    public TimeSpan ReadyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Time limit for each helper process (podman, ssh-keygen, ssh-keyscan, …).</summary>
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Time limit of an image pull (<c>--dockerimage</c>) or build (<c>--dockerfile</c>).</summary>
    public TimeSpan BuildTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How long <c>StartJupyterAsync</c> waits for Jupyter to answer HTTP.</summary>
    public TimeSpan JupyterStartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Interval between readiness probes.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(50);
}

using System.Globalization;
using System.Text.RegularExpressions;

namespace GpuDev.Core.Compute;

/// <summary>What every environment is, whatever runs it (a podman container on the local host, a pod on Kubernetes): the
/// image runs <see cref="EntryScript"/> as root; it makes user <c>dev</c> (<see cref="DevUid"/>, home <c>/home/dev</c>,
/// passwordless sudo), runs sshd with the host key gpu-dev generated and the authorized keys from <see cref="KeysPath"/>,
/// hands the container's environment (the image's <c>ENV</c> plus <see cref="Variables"/>) to every ssh session, login or
/// not, and keeps keys, expiry warnings and Jupyter in step with what the provider writes into <see cref="ConfigPath"/> and
/// <see cref="KeysPath"/>. Mounts: <c>/home/dev</c> (disk or temporary), <c>/shared-personal</c>, <c>/ccache</c>,
/// <c>/shared</c> (multinode), <c>/dev/shm</c>.</summary>
public static partial class EnvironmentContract
{
    public const string User = "dev";
    public const int DevUid = 1000;
    public const string Home = "/home/dev";
    public const int SshPort = 22;
    public const int JupyterPort = 8888;
    public const int MasterPort = 29500;

    /// <summary>Read-only for the environment: the entry script, <see cref="JupyterFile"/>, the <c>EXPIRES_IN_*_MIN</c> warnings.</summary>
    public const string ConfigPath = "/gpu-dev/config";

    /// <summary>Read-only for the environment: <see cref="AuthorizedKeysFile"/>, the host key, <see cref="JupyterTokenFile"/> and, for
    /// multinode, <see cref="NodeKeyFile"/>, <see cref="KnownHostsFile"/> and <see cref="SshConfigFile"/>.</summary>
    public const string KeysPath = "/gpu-dev/keys";

    public const string EntryFile = "entry.sh";
    public const string AuthorizedKeysFile = "authorized_keys";
    public const string HostKeyFile = "ssh_host_ed25519_key";
    public const string HostKeyPubFile = "ssh_host_ed25519_key.pub";
    public const string JupyterTokenFile = "jupyter_token";

    /// <summary>Present in <see cref="ConfigPath"/> while Jupyter is wanted.</summary>
    public const string JupyterFile = "jupyter";

    /// <summary>Multinode: the private key ranks use to ssh to each other, their known hosts and the ssh client configuration.</summary>
    public const string NodeKeyFile = "node_key";
    public const string KnownHostsFile = "known_hosts";
    public const string SshConfigFile = "ssh_config";

    /// <summary>Set to <c>1</c> for <c>--recreate-env</c> on a named disk: once per reservation, the home's shell dotfiles move into
    /// <c>.gpu-dev-env-backup-&lt;time&gt;/</c> and fresh ones come from <c>/etc/skel</c>.</summary>
    public const string RecreateEnvVariable = "GPU_DEV_RECREATE_ENV";

    /// <summary>The variables of rank <paramref name="rank"/>, in a fixed order: its GPUs (numbered from 0 inside the
    /// environment; <c>GPU_DEV_GPUS</c> lists the host's indices), the torch.distributed rendezvous, gpu-dev's own, then the
    /// user's (<see cref="EnvironmentSpec.Environment"/>; names that gpu-dev sets are not overridden).</summary>
    /// <exception cref="ArgumentException">A user variable has a name or value that cannot be passed safely.</exception>
    public static IReadOnlyList<KeyValuePair<string, string>> Variables(EnvironmentSpec spec, int rank, string masterAddress)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var gpus = spec.Allocations[rank].GpuIndices;
        var rankText = Text(rank);
        var worldSize = Text(spec.Allocations.Count);
        List<KeyValuePair<string, string>> vars =
        [
            new("CUDA_VISIBLE_DEVICES", string.Join(',', Enumerable.Range(0, gpus.Count).Select(Text))),
            new("NVIDIA_VISIBLE_DEVICES", gpus.Count > 0 ? string.Join(',', gpus.Select(Text)) : "none"),
            new("GPU_DEV_GPUS", string.Join(',', gpus.Select(Text))),
            new("RANK", rankText),
            new("NODE_RANK", rankText),
            new("WORLD_SIZE", worldSize),
            new("LOCAL_WORLD_SIZE", Text(Math.Max(gpus.Count, 1))),
            new("MASTER_ADDR", masterAddress),
            new("MASTER_PORT", Text(MasterPort)),
            new("GPU_DEV_RESERVATION_ID", spec.ReservationId),
            new("GPU_DEV_GPU_TYPE", spec.GpuType),
            new("GPU_DEV_NODE_RANK", rankText),
            new("GPU_DEV_NUM_NODES", worldSize),
            new("CCACHE_DIR", "/ccache"),

            // ccache's configuration comes from a root-owned file, never from the (user-writable) cache directory.
            new("CCACHE_CONFIGPATH", "/etc/gpu-dev/ccache.conf"),
        ];
        if (spec.Allocations.Count > 1)
        {
            vars.Add(new("GPU_DEV_SHARED_DIR", "/shared"));
        }

        if (spec is { RecreateEnv: true, DiskId: not null })
        {
            vars.Add(new(RecreateEnvVariable, "1"));
        }

        var reserved = vars.Select(v => v.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, value) in spec.Environment.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (!EnvName().IsMatch(name) || !SafeValue().IsMatch(value))
            {
                throw new ArgumentException($"Environment variable '{name}' has an unsupported name or value (no quotes, backslashes or control characters).", nameof(spec));
            }

            if (!reserved.Contains(name))
            {
                vars.Add(new(name, value));
            }
        }

        return vars;
    }

    /// <summary>The <c>EXPIRES_IN_&lt;minutes&gt;_MIN</c> file name of a warning.</summary>
    public static bool IsWarningFileName(string fileName) => fileName is { Length: <= 64 } && WarningFile().IsMatch(fileName);

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvName();

    [GeneratedRegex("^[^\"\\\\\\x00-\\x1f\\x7f]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SafeValue();

    [GeneratedRegex("^EXPIRES_IN_[0-9]+_MIN$", RegexOptions.CultureInvariant)]
    private static partial Regex WarningFile();
}

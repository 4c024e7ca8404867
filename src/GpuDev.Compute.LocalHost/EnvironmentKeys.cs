using System.Security.Cryptography;
using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost;

/// <summary>The environment's key files in <see cref="EnvironmentLayout.KeysDir"/>: the host key (one for every rank),
/// authorized keys, the Jupyter token and, multinode, the key, known hosts and ssh configuration the ranks use between
/// themselves. Owned by container root (mode 600) and mounted read-only; each file is written only when it changed, so
/// a repeated Ensure (new keys from <c>edit --add-user</c>) changes what changed and nothing else.</summary>
internal sealed class EnvironmentKeys(LocalHostOptions options)
{
    /// <summary>The environment's host public key (<c>type base64</c>), as a handshake must present it; null before it exists.</summary>
    public static string? HostPublicKey(EnvironmentLayout layout) => ReadPublicKey(Path.Combine(layout.KeysDir, EnvironmentContract.HostKeyPubFile));

    /// <param name="containerRoot">The host <c>uid:gid</c> of container root, which must read the files; null rootless.</param>
    public async Task WriteAsync(EnvironmentSpec spec, EnvironmentLayout layout, string? containerRoot, CancellationToken cancellationToken)
    {
        FileWrites.EnsureDir(layout.KeysDir, "700");
        var hostKey = Path.Combine(layout.KeysDir, EnvironmentContract.HostKeyFile);
        var written = new List<string>();
        if (await GenerateIfMissingAsync(hostKey, "gpu-dev-" + spec.ReservationId, cancellationToken).ConfigureAwait(false))
        {
            written.AddRange([hostKey, hostKey + ".pub"]);
        }

        var authorized = spec.AuthorizedKeys.Select(k => k.Trim()).ToList();
        if (spec.Allocations.Count > 1)
        {
            var nodeKey = Path.Combine(layout.KeysDir, EnvironmentContract.NodeKeyFile);
            if (await GenerateIfMissingAsync(nodeKey, "gpu-dev-nodes-" + spec.ReservationId, cancellationToken).ConfigureAwait(false))
            {
                written.AddRange([nodeKey, nodeKey + ".pub"]);
            }

            authorized.Add((await File.ReadAllTextAsync(nodeKey + ".pub", cancellationToken).ConfigureAwait(false)).Trim());
            var pattern = spec.ReservationId[..12] + "-*";
            var hostPublic = ReadPublicKey(hostKey + ".pub") ?? throw new InvalidOperationException("The environment has no host key.");
            if (WriteKey(layout, EnvironmentContract.KnownHostsFile, $"{pattern} {hostPublic}\n"))
            {
                written.Add(Path.Combine(layout.KeysDir, EnvironmentContract.KnownHostsFile));
            }

            var config = $"Host {pattern}\n  User {EnvironmentContract.User}\n  IdentityFile /etc/gpu-dev/{EnvironmentContract.NodeKeyFile}\n" +
                         "  UserKnownHostsFile /etc/gpu-dev/known_hosts\n  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n";
            if (WriteKey(layout, EnvironmentContract.SshConfigFile, config))
            {
                written.Add(Path.Combine(layout.KeysDir, EnvironmentContract.SshConfigFile));
            }
        }

        var tokenFile = Path.Combine(layout.KeysDir, EnvironmentContract.JupyterTokenFile);
        if (!File.Exists(tokenFile) && WriteKey(layout, EnvironmentContract.JupyterTokenFile, RandomNumberGenerator.GetHexString(32, lowercase: true)))
        {
            written.Add(tokenFile);
        }

        if (WriteKey(layout, EnvironmentContract.AuthorizedKeysFile, string.Concat(authorized.Select(k => k + "\n"))))
        {
            written.Add(Path.Combine(layout.KeysDir, EnvironmentContract.AuthorizedKeysFile));
        }

        foreach (var file in written)
        {
            FileWrites.SetMode(file, "600");
        }

        if (containerRoot is not null)
        {
            // Container root reads them: owned by its host uid, like the directory.
            await ProcessRunner.RunCheckedAsync("chown", ["-R", containerRoot, layout.KeysDir], options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>An ed25519 key pair at <paramref name="key"/> unless both halves exist (half a pair is made again); true when it made one.</summary>
    private async Task<bool> GenerateIfMissingAsync(string key, string comment, CancellationToken cancellationToken)
    {
        if (File.Exists(key) && File.Exists(key + ".pub"))
        {
            return false;
        }

        File.Delete(key);
        File.Delete(key + ".pub");
        await ProcessRunner.RunCheckedAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", string.Empty, "-C", comment, "-f", key], options.CommandTimeout, cancellationToken)
            .ConfigureAwait(false);
        return true;
    }

    private static bool WriteKey(EnvironmentLayout layout, string name, string content) =>
        FileWrites.WriteIfChanged(Path.Combine(layout.KeysDir, name), content, "600");

    private static string? ReadPublicKey(string path)
    {
        try
        {
            var fields = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return fields.Length >= 2 ? fields[0] + " " + fields[1] : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

using System.Globalization;
using System.Security.Cryptography;
using GpuDev.Core.Compute;
using k8s;
using k8s.Models;

namespace GpuDev.Compute.Kubernetes;

/// <summary>The reservation's key Secret: created once with keys gpu-dev generates (host key, the ranks' key, the Jupyter
/// token) and the world size; afterwards only its authorized keys change. Its presence is what makes an environment exist.</summary>
internal sealed class EnvironmentSecrets(IKubernetes client, KubernetesOptions options, EnvironmentObjects objects)
{
    /// <summary>The number of ranks, recorded on the Secret so that a status read later knows how many pods to expect.</summary>
    public const string WorldSizeAnnotation = "gpu-dev.io/world-size";

    private string Ns => options.Namespace;

    /// <summary>The Secret; null when there is none.</summary>
    public Task<V1Secret?> ReadAsync(string id, CancellationToken cancellationToken) =>
        ApiCalls.OrNullAsync(() => client.CoreV1.ReadNamespacedSecretAsync(K8sNames.Secret(id), Ns, cancellationToken: cancellationToken));

    /// <summary>The Secret created, or its authorized keys brought up to date (added users).</summary>
    /// <returns>The environment's host public key.</returns>
    public async Task<string> EnsureAsync(EnvironmentSpec spec, CancellationToken cancellationToken)
    {
        var id = spec.ReservationId;
        var existing = await ReadAsync(id, cancellationToken);
        if (existing is null)
        {
            var hostKey = await SshTools.GenerateAsync($"gpu-dev-{id}", cancellationToken);
            var rankKey = spec.Allocations.Count > 1 ? await SshTools.GenerateAsync($"gpu-dev-{id}-ranks", cancellationToken) : null;
            var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
            var secret = objects.Secret(spec, hostKey, rankKey, token);
            secret.Metadata.Annotations[WorldSizeAnnotation] = spec.Allocations.Count.ToString(CultureInfo.InvariantCulture);
            if (await ApiCalls.CreateIfMissingAsync(() => client.CoreV1.CreateNamespacedSecretAsync(secret, Ns, cancellationToken: cancellationToken)))
            {
                return hostKey.PublicKey;
            }

            existing = await client.CoreV1.ReadNamespacedSecretAsync(K8sNames.Secret(id), Ns, cancellationToken: cancellationToken);
        }

        // Added users (edit --add-user) change the keys: the entry re-installs them without restarting sshd.
        var rankPublic = ObjectFacts.Text(existing, EnvironmentObjects.NodeKeyPubKey).Trim();
        var wanted = EnvironmentObjects.AuthorizedKeys(spec, rankPublic.Length > 0 ? new HostKeyPair("", rankPublic) : null);
        if (ObjectFacts.Text(existing, EnvironmentContract.AuthorizedKeysFile) != wanted)
        {
            var patch = new V1Patch(new Dictionary<string, object> { ["stringData"] = new Dictionary<string, string> { [EnvironmentContract.AuthorizedKeysFile] = wanted } },
                V1Patch.PatchType.MergePatch);
            await client.CoreV1.PatchNamespacedSecretAsync(patch, K8sNames.Secret(id), Ns, cancellationToken: cancellationToken);
        }

        return ObjectFacts.Text(existing, EnvironmentContract.HostKeyPubFile).Trim();
    }
}

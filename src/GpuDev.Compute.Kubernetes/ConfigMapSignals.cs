using GpuDev.Core.Compute;
using k8s;
using k8s.Models;

namespace GpuDev.Compute.Kubernetes;

/// <summary>What the server tells a running environment through its ConfigMap, which the entry reads at every sync (the
/// kubelet refreshes a mounted ConfigMap within about a minute): expiry warnings, and whether Jupyter is wanted.</summary>
internal sealed class ConfigMapSignals(
    IKubernetes client, KubernetesOptions options, EnvironmentObjects objects, EnvironmentSecrets secrets, EnvironmentReadiness readiness, NodeInventory nodes)
{
    private string Ns => options.Namespace;

    /// <summary>The warning goes into the reservation's ConfigMap; the environment's entry copies it into the home and
    /// onto every terminal.</summary>
    public Task DeliverWarningAsync(string reservationId, string fileName, string message, CancellationToken cancellationToken) =>
        PatchAsync(reservationId, new Dictionary<string, string?> { [CheckedWarningFile(fileName)] = message.EndsWith('\n') ? message : message + "\n" }, cancellationToken);

    public async Task ClearWarningsAsync(string reservationId, CancellationToken cancellationToken)
    {
        var map = await ApiCalls.OrNullAsync(() => client.CoreV1.ReadNamespacedConfigMapAsync(K8sNames.Config(K8sNames.Checked(reservationId)), Ns, cancellationToken: cancellationToken));
        var keys = map?.Data?.Keys.Where(k => k.StartsWith("EXPIRES_IN_", StringComparison.Ordinal)).ToList() ?? [];
        if (keys.Count > 0)
        {
            await PatchAsync(reservationId, keys.ToDictionary(k => k, _ => (string?)null), cancellationToken);
        }
    }

    /// <summary>Jupyter is wanted while the ConfigMap has the key <see cref="EnvironmentContract.JupyterFile"/>: the entry starts the
    /// server from the image when it appears and stops it when it goes (at its next sync, within seconds of the kubelet
    /// refreshing the mounted ConfigMap). The NodePort Service makes it reachable.</summary>
    public async Task<JupyterEndpoint> StartJupyterAsync(string reservationId, CancellationToken cancellationToken)
    {
        var id = K8sNames.Checked(reservationId);
        var secret = await secrets.ReadAsync(id, cancellationToken);
        var pod = (await readiness.PodsAsync(id, cancellationToken)).FirstOrDefault(p => ObjectFacts.RankOf(p) == 0);
        if (secret is null || pod?.Spec?.NodeName is not { } nodeName || ObjectFacts.IsTerminal(pod))
        {
            throw new EnvironmentUnavailableException("the environment's pod is not running");
        }

        if (pod.Spec.Containers?.FirstOrDefault()?.Command is null)
        {
            throw new EnvironmentUnavailableException("with --preserve-entrypoint the image's own command runs, not gpu-dev's entry: start Jupyter yourself");
        }

        await PatchAsync(id, new Dictionary<string, string?> { [EnvironmentContract.JupyterFile] = "1\n" }, cancellationToken);
        var spec = new EnvironmentSpec
        {
            ReservationId = id,
            Owner = ObjectFacts.Value(secret.Metadata.Annotations, K8sNames.Owner) ?? "",
            AuthorizedKeys = [],
            Allocations = [],
            GpuType = "",
        };
        var service = await ApiCalls.CreatedOrNullAsync(() => client.CoreV1.CreateNamespacedServiceAsync(objects.JupyterService(spec), Ns, cancellationToken: cancellationToken))
            ?? await client.CoreV1.ReadNamespacedServiceAsync(K8sNames.JupyterService(id), Ns, cancellationToken: cancellationToken);
        if (service.Spec?.Ports?.FirstOrDefault()?.NodePort is not { } port)
        {
            throw new EnvironmentUnavailableException("the Jupyter service has no NodePort");
        }

        var host = await nodes.AddressAsync(nodeName, pod, cancellationToken);
        var token = ObjectFacts.Text(secret, EnvironmentContract.JupyterTokenFile);
        // The root redirects to Lab or Notebook, whichever the image has.
        return new JupyterEndpoint($"http://{host}:{port}/?token={token}", token);
    }

    /// <summary>Removes the ConfigMap key (the entry stops the server) and the Service.</summary>
    public async Task StopJupyterAsync(string reservationId, CancellationToken cancellationToken)
    {
        var id = K8sNames.Checked(reservationId);
        await PatchAsync(id, new Dictionary<string, string?> { [EnvironmentContract.JupyterFile] = null }, cancellationToken);
        await ApiCalls.IgnoreNotFoundAsync(() => client.CoreV1.DeleteNamespacedServiceAsync(K8sNames.JupyterService(id), Ns, cancellationToken: cancellationToken));
    }

    /// <summary>A merge patch of the ConfigMap's data (a null value removes the key); nothing when the ConfigMap is gone.</summary>
    private async Task PatchAsync(string reservationId, Dictionary<string, string?> data, CancellationToken cancellationToken)
    {
        var patch = new V1Patch(new Dictionary<string, object> { ["data"] = data }, V1Patch.PatchType.MergePatch);
        await ApiCalls.IgnoreNotFoundAsync(() => client.CoreV1.PatchNamespacedConfigMapAsync(patch, K8sNames.Config(K8sNames.Checked(reservationId)), Ns, cancellationToken: cancellationToken));
    }

    private static string CheckedWarningFile(string fileName) =>
        fileName.StartsWith("EXPIRES_IN_", StringComparison.Ordinal) && fileName.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
            ? fileName
            : throw new ArgumentException($"'{fileName}' is not a warning file name (EXPIRES_IN_<N>_MIN).", nameof(fileName));
}

using k8s;
using k8s.Models;

namespace GpuDev.Compute.Kubernetes;

/// <summary>Every kind of object gpu-dev creates for a reservation, found by its labels alone: listed to learn which
/// reservations have objects in the cluster, deleted to remove one (also what a crash left half-created).</summary>
internal sealed class LabeledObjects(IKubernetes client, KubernetesOptions options, TimeProvider time)
{
    private static readonly TimeSpan s_removeWait = TimeSpan.FromSeconds(60);

    private string Ns => options.Namespace;

    /// <summary>The ids of the reservations that have any object gpu-dev manages, sorted.</summary>
    public async Task<IReadOnlyList<string>> ReservationIdsAsync(CancellationToken cancellationToken)
    {
        var selector = K8sNames.ManagedSelector;
        var metas = new List<V1ObjectMeta>();
        metas.AddRange((await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        metas.AddRange((await client.CoreV1.ListNamespacedServiceAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        metas.AddRange((await client.CoreV1.ListNamespacedSecretAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        metas.AddRange((await client.CoreV1.ListNamespacedConfigMapAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        metas.AddRange((await client.BatchV1.ListNamespacedJobAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        metas.AddRange((await client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        metas.AddRange((await client.NetworkingV1.ListNamespacedNetworkPolicyAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        return [.. metas.Select(m => ObjectFacts.Value(m.Labels, K8sNames.Reservation)).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>Deletes every object of the reservation, then waits (up to a minute) until its pods are gone.</summary>
    public async Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var selector = K8sNames.OfReservation(id);
        foreach (var pod in (await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await ApiCalls.IgnoreNotFoundAsync(() => client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, Ns, gracePeriodSeconds: 5, cancellationToken: cancellationToken));
        }

        foreach (var job in (await client.BatchV1.ListNamespacedJobAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await ApiCalls.IgnoreNotFoundAsync(() => client.BatchV1.DeleteNamespacedJobAsync(job.Metadata.Name, Ns, propagationPolicy: "Background", cancellationToken: cancellationToken));
        }

        foreach (var service in (await client.CoreV1.ListNamespacedServiceAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await ApiCalls.IgnoreNotFoundAsync(() => client.CoreV1.DeleteNamespacedServiceAsync(service.Metadata.Name, Ns, cancellationToken: cancellationToken));
        }

        foreach (var map in (await client.CoreV1.ListNamespacedConfigMapAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await ApiCalls.IgnoreNotFoundAsync(() => client.CoreV1.DeleteNamespacedConfigMapAsync(map.Metadata.Name, Ns, cancellationToken: cancellationToken));
        }

        foreach (var secret in (await client.CoreV1.ListNamespacedSecretAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await ApiCalls.IgnoreNotFoundAsync(() => client.CoreV1.DeleteNamespacedSecretAsync(secret.Metadata.Name, Ns, cancellationToken: cancellationToken));
        }

        foreach (var policy in (await client.NetworkingV1.ListNamespacedNetworkPolicyAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await ApiCalls.IgnoreNotFoundAsync(() => client.NetworkingV1.DeleteNamespacedNetworkPolicyAsync(policy.Metadata.Name, Ns, cancellationToken: cancellationToken));
        }

        // The reservation's own /shared claim (named disks carry no reservation label and stay).
        foreach (var claim in (await client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await ApiCalls.IgnoreNotFoundAsync(() => client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(claim.Metadata.Name, Ns, cancellationToken: cancellationToken));
        }

        // A disk claim can be snapshotted or attached elsewhere only once its pod is gone.
        var deadline = time.GetUtcNow() + s_removeWait;
        while ((await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Count > 0)
        {
            if (time.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"the pods of {id} were not gone after {s_removeWait.TotalSeconds:0} s");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), time, cancellationToken);
        }
    }
}

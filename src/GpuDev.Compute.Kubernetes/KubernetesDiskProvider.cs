using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using GpuDev.Core.Compute;
using GpuDev.Core.Disks;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.Kubernetes;

/// <summary>Named disks as PersistentVolumeClaims of a configurable storage class (EBS gp3 in the seed); snapshots as CSI
/// VolumeSnapshots; a restore replaces the claim with one made from the snapshot. A snapshot's files are listed by a
/// short-lived pod (<see cref="KubernetesOptions.ToolsImage"/>) over a claim made from it, which reports through its log.
/// Names come from ids only.</summary>
public sealed class KubernetesDiskProvider(IKubernetes client, IOptions<KubernetesOptions> options, TimeProvider time) : IDiskProvider
{
    private const string SnapshotGroup = "snapshot.storage.k8s.io";
    private const string SnapshotVersion = "v1";
    private const string SnapshotPlural = "volumesnapshots";
    private static readonly TimeSpan s_snapshotWait = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan s_poll = TimeSpan.FromMilliseconds(200);

    /// <summary>The lister's last line: a log without it was cut short.</summary>
    private const string ListDone = "gpu-dev-list-done";

    /// <summary>One line per regular file, <c>&lt;size&gt; ./&lt;path&gt;</c>, with busybox or GNU tools.</summary>
    private const string ListScript = "cd /data && find . -xdev -type f -exec stat -c '%s %n' {} + && echo " + ListDone;

    private string Ns => options.Value.Namespace;

    public Task CreateAsync(string diskId, CancellationToken cancellationToken) =>
        ApiCalls.CreateIfMissingAsync(() => client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(Claim(diskId, null), Ns, cancellationToken: cancellationToken));

    public async Task<DiskSnapshot> SnapshotAsync(string diskId, string snapshotId, string? reservationId, CancellationToken cancellationToken)
    {
        var snapshot = new Dictionary<string, object?>
        {
            ["apiVersion"] = $"{SnapshotGroup}/{SnapshotVersion}",
            ["kind"] = "VolumeSnapshot",
            ["metadata"] = new Dictionary<string, object>
            {
                ["name"] = K8sNames.Snapshot(snapshotId),
                ["namespace"] = Ns,
                ["labels"] = DiskLabels(diskId),
            },
            ["spec"] = new Dictionary<string, object?>
            {
                ["volumeSnapshotClassName"] = string.IsNullOrEmpty(options.Value.SnapshotClass) ? null : options.Value.SnapshotClass,
                ["source"] = new Dictionary<string, string> { ["persistentVolumeClaimName"] = K8sNames.DiskClaim(diskId) },
            },
        };
        await ApiCalls.CreateIfMissingAsync(() => client.CustomObjects.CreateNamespacedCustomObjectAsync(snapshot, SnapshotGroup, SnapshotVersion, Ns, SnapshotPlural,
            cancellationToken: cancellationToken));

        var deadline = time.GetUtcNow() + s_snapshotWait;
        while (true)
        {
            var current = ToJson(await client.CustomObjects.GetNamespacedCustomObjectAsync(SnapshotGroup, SnapshotVersion, Ns, SnapshotPlural, K8sNames.Snapshot(snapshotId),
                cancellationToken: cancellationToken));
            if (current.TryGetProperty("status", out var status))
            {
                if (status.TryGetProperty("error", out var error) && error.TryGetProperty("message", out var message))
                {
                    throw new InvalidOperationException($"snapshot {snapshotId} of disk {diskId} failed: {message.GetString()}");
                }

                if (status.TryGetProperty("readyToUse", out var ready) && ready.ValueKind == JsonValueKind.True)
                {
                    var size = status.TryGetProperty("restoreSize", out var restore) && Quantities.TryParseBytes(restore.GetString(), out var bytes) ? bytes : 0;
                    return new DiskSnapshot(snapshotId, diskId, time.GetUtcNow(), size, await FileCountAsync(diskId, snapshotId, cancellationToken), reservationId);
                }
            }

            if (time.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"snapshot {snapshotId} of disk {diskId} was not ready after {s_snapshotWait.TotalMinutes:0} minutes");
            }

            await Task.Delay(s_poll, time, cancellationToken);
        }
    }

    /// <summary>A claim's provisioned capacity: a volume's usage is only known inside a pod that mounts it.</summary>
    public async Task<long> UsageAsync(string diskId, CancellationToken cancellationToken)
    {
        var claim = await ApiCalls.OrNullAsync(() => client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(K8sNames.DiskClaim(diskId), Ns, cancellationToken: cancellationToken));
        return claim is null ? 0 : (long)Quantities.Of(claim.Status?.Capacity ?? claim.Spec?.Resources?.Requests, "storage");
    }

    /// <summary>A claim made from the snapshot, mounted read-only by a pod that lists it and ends; both are deleted after.</summary>
    public async Task<IReadOnlyList<(string Path, long Size)>> ListContentAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        var name = K8sNames.SnapshotLister(snapshotId);
        try
        {
            await ApiCalls.CreateIfMissingAsync(() => client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(ListerClaim(diskId, snapshotId), Ns, cancellationToken: cancellationToken));
            await ApiCalls.CreateIfMissingAsync(() => client.CoreV1.CreateNamespacedPodAsync(ListerPod(diskId, snapshotId), Ns, cancellationToken: cancellationToken));
            var deadline = time.GetUtcNow() + options.Value.ListWait;
            V1Pod pod;
            while (!ObjectFacts.IsTerminal(pod = await client.CoreV1.ReadNamespacedPodAsync(name, Ns, cancellationToken: cancellationToken)))
            {
                if (time.GetUtcNow() > deadline)
                {
                    throw new TimeoutException($"listing snapshot {snapshotId} took over {options.Value.ListWait.TotalMinutes:0} minutes ({ObjectFacts.DescribeWaiting(pod)})");
                }

                await Task.Delay(s_poll, time, cancellationToken);
            }

            var log = await LogAsync(name, cancellationToken);
            if (pod.Status?.Phase != "Succeeded" || !log.TrimEnd().EndsWith(ListDone, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"listing snapshot {snapshotId} failed: {ObjectFacts.DescribeEnded(pod)}");
            }

            return ParseListing(log);
        }
        finally
        {
            await ApiCalls.IgnoreNotFoundAsync(() => client.CoreV1.DeleteNamespacedPodAsync(name, Ns, gracePeriodSeconds: 0, cancellationToken: CancellationToken.None));
            await ApiCalls.IgnoreNotFoundAsync(() => client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(name, Ns, cancellationToken: CancellationToken.None));
        }
    }

    internal static List<(string Path, long Size)> ParseListing(string log)
    {
        var files = new List<(string Path, long Size)>();
        foreach (var line in log.Split('\n'))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && long.TryParse(line.AsSpan(0, space), NumberStyles.None, CultureInfo.InvariantCulture, out var size) && line[(space + 1)..].StartsWith("./", StringComparison.Ordinal))
            {
                files.Add((line[(space + 3)..], size));
            }
        }

        return [.. files.OrderBy(f => f.Path, StringComparer.Ordinal)];
    }

    /// <summary>The snapshot's file count, or 0 when it cannot be listed (the snapshot itself is good either way).</summary>
    private async Task<int> FileCountAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        try
        {
            return (await ListContentAsync(diskId, snapshotId, cancellationToken)).Count;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or HttpOperationException)
        {
            return 0;
        }
    }

    private async Task<string> LogAsync(string pod, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await client.CoreV1.ReadNamespacedPodLogAsync(pod, Ns, cancellationToken: cancellationToken);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return await reader.ReadToEndAsync(cancellationToken);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
        {
            return "";
        }
    }

    private V1PersistentVolumeClaim ListerClaim(string diskId, string snapshotId)
    {
        var claim = Claim(diskId, snapshotId);
        claim.Metadata.Name = K8sNames.SnapshotLister(snapshotId);
        claim.Metadata.Labels[K8sNames.Role] = K8sNames.ListerRole;
        return claim;
    }

    internal V1Pod ListerPod(string diskId, string snapshotId)
    {
        var name = K8sNames.SnapshotLister(snapshotId);
        var labels = DiskLabels(diskId);
        labels[K8sNames.Role] = K8sNames.ListerRole;
        return new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Ns, Labels = labels },
            Spec = new V1PodSpec
            {
                RestartPolicy = "Never",
                Tolerations = [new V1Toleration { Key = K8sNames.Gpu, OperatorProperty = "Exists", Effect = "NoSchedule" }],
                Containers =
                [
                    new V1Container
                    {
                        Name = "list",
                        Image = options.Value.ToolsImage,
                        Command = ["/bin/sh", "-c", ListScript],
                        VolumeMounts = [new V1VolumeMount { Name = "data", MountPath = "/data", ReadOnlyProperty = true }],
                        Resources = new V1ResourceRequirements
                        {
                            Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new("100m"), ["memory"] = new("64Mi") },
                            Limits = new Dictionary<string, ResourceQuantity> { ["memory"] = new("256Mi") },
                        },
                        TerminationMessagePolicy = "FallbackToLogsOnError",
                    },
                ],
                Volumes = [new V1Volume { Name = "data", PersistentVolumeClaim = new V1PersistentVolumeClaimVolumeSource { ClaimName = name, ReadOnlyProperty = true } }],
                TerminationGracePeriodSeconds = 0,
                EnableServiceLinks = false,
                AutomountServiceAccountToken = false,
                SecurityContext = EnvironmentObjects.PodSecurity(),
            },
        };
    }

    public async Task PurgeAsync(string diskId, CancellationToken cancellationToken)
    {
        await ApiCalls.IgnoreNotFoundAsync(() => client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(K8sNames.DiskClaim(diskId), Ns, cancellationToken: cancellationToken));
        var list = ToJson(await client.CustomObjects.ListNamespacedCustomObjectAsync(SnapshotGroup, SnapshotVersion, Ns, SnapshotPlural,
            labelSelector: $"{K8sNames.Disk}={K8sNames.Checked(diskId)}", cancellationToken: cancellationToken));
        foreach (var item in list.GetProperty("items").EnumerateArray())
        {
            var name = item.GetProperty("metadata").GetProperty("name").GetString()!;
            await ApiCalls.IgnoreNotFoundAsync(() => client.CustomObjects.DeleteNamespacedCustomObjectAsync(SnapshotGroup, SnapshotVersion, Ns, SnapshotPlural, name,
                cancellationToken: cancellationToken));
        }
    }

    /// <summary>Deletes the claim and makes it again from the snapshot (the disk is not attached: the caller checked).</summary>
    public async Task RestoreAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        var name = K8sNames.DiskClaim(diskId);
        var existing = await ApiCalls.OrNullAsync(() => client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(name, Ns, cancellationToken: cancellationToken));
        if (existing?.Spec?.DataSource?.Name == K8sNames.Snapshot(snapshotId))
        {
            return;
        }

        await ApiCalls.IgnoreNotFoundAsync(() => client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(name, Ns, cancellationToken: cancellationToken));
        var deadline = time.GetUtcNow() + TimeSpan.FromMinutes(5);
        while (await ApiCalls.OrNullAsync(() => client.CoreV1.ReadNamespacedPersistentVolumeClaimAsync(name, Ns, cancellationToken: cancellationToken)) is not null)
        {
            if (time.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"the claim of disk {diskId} was not deleted after 5 minutes");
            }

            await Task.Delay(s_poll, time, cancellationToken);
        }

        await ApiCalls.CreateIfMissingAsync(() => client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(Claim(diskId, snapshotId), Ns, cancellationToken: cancellationToken));
    }

    public Task DeleteSnapshotAsync(string diskId, string snapshotId, CancellationToken cancellationToken) =>
        ApiCalls.IgnoreNotFoundAsync(() => client.CustomObjects.DeleteNamespacedCustomObjectAsync(SnapshotGroup, SnapshotVersion, Ns, SnapshotPlural, K8sNames.Snapshot(snapshotId),
            cancellationToken: cancellationToken));

    private V1PersistentVolumeClaim Claim(string diskId, string? fromSnapshot) => new()
    {
        ApiVersion = "v1",
        Kind = "PersistentVolumeClaim",
        Metadata = new V1ObjectMeta { Name = K8sNames.DiskClaim(diskId), NamespaceProperty = Ns, Labels = DiskLabels(diskId) },
        Spec = new V1PersistentVolumeClaimSpec
        {
            AccessModes = ["ReadWriteOnce"],
            StorageClassName = options.Value.StorageClass,
            Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new(options.Value.DiskSize) } },
            DataSource = fromSnapshot is null ? null : new V1TypedLocalObjectReference { ApiGroup = SnapshotGroup, Kind = "VolumeSnapshot", Name = K8sNames.Snapshot(fromSnapshot) },
        },
    };

    private static Dictionary<string, string> DiskLabels(string diskId) => new()
    {
        [K8sNames.ManagedBy] = K8sNames.ManagedByValue,
        [K8sNames.Disk] = K8sNames.Checked(diskId),
    };

    private static JsonElement ToJson(object value) => value switch
    {
        JsonElement element => element,
        _ => JsonSerializer.SerializeToElement(value),
    };
}

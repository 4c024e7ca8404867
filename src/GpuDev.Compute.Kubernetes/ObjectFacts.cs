using System.Globalization;
using System.Text;
using k8s.Models;

namespace GpuDev.Compute.Kubernetes;

/// <summary>What gpu-dev reads off the cluster's objects: whether an object is its own, a pod's rank, GPUs and state, and
/// one-line descriptions of why a pod ended or still waits (shown to the user as the reservation's status).</summary>
internal static class ObjectFacts
{
    public static bool IsOurs(V1ObjectMeta? meta) =>
        Value(meta?.Labels, K8sNames.ManagedBy) == K8sNames.ManagedByValue;

    public static bool IsTerminal(V1Pod pod) => pod.Status?.Phase is "Failed" or "Succeeded";

    public static int RankOf(V1Pod pod) =>
        int.TryParse(Value(pod.Metadata?.Labels, K8sNames.Rank), CultureInfo.InvariantCulture, out var rank) ? rank : 0;

    public static int GpusOf(V1Pod pod) =>
        (int)(pod.Spec?.Containers ?? []).Sum(c => Math.Max(Quantities.Of(c.Resources?.Limits, K8sNames.Gpu), Quantities.Of(c.Resources?.Requests, K8sNames.Gpu)));

    public static string DescribeEnded(V1Pod pod)
    {
        var name = pod.Metadata.Name;
        var terminated = pod.Status?.ContainerStatuses?.Select(s => s.State?.Terminated).FirstOrDefault(t => t is not null);
        var detail = pod.Status?.Reason switch
        {
            "Evicted" => $"was evicted: {pod.Status.Message}",
            { } reason => $"failed: {reason}: {pod.Status?.Message}",
            null when terminated is not null => $"exited with code {terminated.ExitCode} ({terminated.Reason}){(string.IsNullOrWhiteSpace(terminated.Message) ? "" : ": " + terminated.Message.Trim())}",
            null => $"ended ({pod.Status?.Phase})",
        };
        return $"pod {name} {detail}".TrimEnd(' ', ':');
    }

    public static string DescribeWaiting(V1Pod pod)
    {
        var name = pod.Metadata.Name;
        if (pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status == "False") is { } unscheduled)
        {
            return $"pod {name} cannot be scheduled: {unscheduled.Message}";
        }

        var waiting = (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? [])
            .Select(s => s.State?.Waiting).FirstOrDefault(w => w?.Reason is not null and not "ContainerCreating" and not "PodInitializing");
        return waiting is not null ? $"pod {name}: {waiting.Reason}: {waiting.Message}".TrimEnd(' ', ':') : $"pod {name} is {pod.Status?.Phase?.ToLowerInvariant() ?? "pending"}";
    }

    /// <summary>A label's or annotation's value; null when the map or the key is missing.</summary>
    public static string? Value(IDictionary<string, string>? map, string key) =>
        map is not null && map.TryGetValue(key, out var value) ? value : null;

    /// <summary>A Secret's entry as text, whether it came back as data or was just created as string data; empty when missing.</summary>
    public static string Text(V1Secret secret, string key) =>
        secret.Data?.TryGetValue(key, out var bytes) == true ? Encoding.UTF8.GetString(bytes)
        : secret.StringData?.TryGetValue(key, out var text) == true ? text
        : "";
}

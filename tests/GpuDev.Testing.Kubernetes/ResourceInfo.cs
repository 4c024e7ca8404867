using System.Text.Json.Nodes;

namespace GpuDev.Testing.Kubernetes;

/// <summary>One kind of object the fake serves (its REST mapping).</summary>
internal sealed record ResourceInfo(
    string Plural,
    string Singular,
    string Kind,
    string Group,
    string Version,
    bool Namespaced,
    bool HasStatus,
    bool DeleteReturnsObject,
    bool BuiltIn,
    string[] ShortNames,
    string[] Subresources)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public string ListKind => Kind + "List";

    /// <summary>The name used in error messages, e.g. <c>pods</c> or <c>jobs.batch</c>.</summary>
    public string QualifiedName => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    public JsonObject Details(string name)
    {
        var details = new JsonObject { ["name"] = name };
        if (Group.Length > 0)
        {
            details["group"] = Group;
        }

        details["kind"] = Plural;
        return details;
    }

    public static readonly ResourceInfo Pods = new("pods", "pod", "Pod", "", "v1", true, true, true, true, ["po"], ["status", "log"]);
    public static readonly ResourceInfo Services = new("services", "service", "Service", "", "v1", true, true, true, true, ["svc"], ["status"]);
    public static readonly ResourceInfo Secrets = new("secrets", "secret", "Secret", "", "v1", true, false, false, true, [], []);
    public static readonly ResourceInfo ConfigMaps = new("configmaps", "configmap", "ConfigMap", "", "v1", true, false, false, true, ["cm"], []);
    public static readonly ResourceInfo Pvcs = new("persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", "", "v1", true, true, true, true, ["pvc"], ["status"]);
    public static readonly ResourceInfo Events = new("events", "event", "Event", "", "v1", true, false, false, true, ["ev"], []);
    public static readonly ResourceInfo ServiceAccounts = new("serviceaccounts", "serviceaccount", "ServiceAccount", "", "v1", true, false, true, true, ["sa"], []);
    public static readonly ResourceInfo Nodes = new("nodes", "node", "Node", "", "v1", false, true, false, true, ["no"], ["status"]);
    public static readonly ResourceInfo Namespaces = new("namespaces", "namespace", "Namespace", "", "v1", false, true, false, true, ["ns"], ["status"]);
    public static readonly ResourceInfo Jobs = new("jobs", "job", "Job", "batch", "v1", true, true, false, true, [], ["status"]);
    public static readonly ResourceInfo NetworkPolicies = new("networkpolicies", "networkpolicy", "NetworkPolicy", "networking.k8s.io", "v1", true, false, false, true, ["netpol"], []);
    public static readonly ResourceInfo VolumeSnapshots = new("volumesnapshots", "volumesnapshot", "VolumeSnapshot", "snapshot.storage.k8s.io", "v1", true, true, true, false, ["vs"], ["status"]);

    public static readonly IReadOnlyList<ResourceInfo> All =
        [Pods, Services, Secrets, ConfigMaps, Pvcs, Events, ServiceAccounts, Nodes, Namespaces, Jobs, NetworkPolicies, VolumeSnapshots];

    public static ResourceInfo? Find(string group, string version, string plural) =>
        All.FirstOrDefault(r => r.Group == group && r.Version == version && r.Plural == plural);

    public static ResourceInfo? FindByPlural(string plural) => All.FirstOrDefault(r => r.Plural == plural);

    public static ResourceInfo? FindByKind(string apiVersion, string kind) =>
        All.FirstOrDefault(r => r.ApiVersion == apiVersion && r.Kind == kind);
}

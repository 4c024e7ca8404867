using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace GpuDev.Testing.Kubernetes;

public sealed partial class FakeKubernetesServer
{
    private readonly Dictionary<string, long> _creationOrder = new(StringComparer.Ordinal);
    private int _nextClusterIp = 10;
    private int _nextPodIp = 2;

    /// <summary>Defaults and validation applied on create (<paramref name="old"/> null) and update, with _gate held.</summary>
    private void Admit(ResourceInfo r, JsonObject obj, JsonObject? old)
    {
        var name = obj.Str("metadata", "name") ?? "";
        if (old is not null)
        {
            CheckImmutable(r, obj, old, name);
        }
        else
        {
            _creationOrder[obj.Str("metadata", "uid")!] = _resourceVersion + 1;
            if (r.HasStatus && r != ResourceInfo.Nodes)
            {
                obj.Remove("status");
            }
        }

        if (r == ResourceInfo.Pods && old is null)
        {
            AdmitPod(obj, name);
        }
        else if (r == ResourceInfo.Services)
        {
            AdmitServiceLocked(obj, old, name);
        }
        else if (r == ResourceInfo.Pvcs && old is null)
        {
            var spec = obj.Obj("spec");
            if (spec.Str("resources", "requests", "storage") is null)
            {
                throw KubeApiException.Invalid(r, name, "spec.resources[storage]", "Required value");
            }

            if (spec["accessModes"] is not JsonArray { Count: > 0 })
            {
                throw KubeApiException.Invalid(r, name, "spec.accessModes", "Required value: at least 1 access mode is required");
            }

            spec["volumeMode"] ??= "Filesystem";
            obj["status"] = new JsonObject { ["phase"] = "Pending" };
        }
        else if (r == ResourceInfo.Jobs && old is null)
        {
            AdmitJob(obj, name);
        }
        else if (r == ResourceInfo.VolumeSnapshots && old is null)
        {
            if (obj.Str("spec", "source", "persistentVolumeClaimName") is null && obj.Str("spec", "source", "volumeSnapshotContentName") is null)
            {
                throw KubeApiException.Invalid(r, name, "spec.source", "Required value: exactly one of persistentVolumeClaimName or volumeSnapshotContentName must be set");
            }
        }
        else if (r == ResourceInfo.Namespaces && old is null)
        {
            obj.Obj("metadata").Obj("labels")["kubernetes.io/metadata.name"] = name;
            obj["status"] = new JsonObject { ["phase"] = "Active" };
        }
        else if (r == ResourceInfo.Secrets)
        {
            obj["type"] ??= "Opaque";
            if (obj["stringData"] is JsonObject stringData)
            {
                var data = obj.Obj("data");
                foreach (var (key, value) in stringData)
                {
                    data[key] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value.Str() ?? ""));
                }

                obj.Remove("stringData");
            }
        }
    }

    /// <summary>The update rules of the real API server for the fields a provider may touch (422 Invalid/Forbidden).</summary>
    private static void CheckImmutable(ResourceInfo r, JsonObject next, JsonObject old, string name)
    {
        if (r == ResourceInfo.Pods)
        {
            var spec = next.Obj("spec").Clone();
            DefaultPodSpec(spec, name);
            if (!SameIgnoring(spec, old.At("spec"), MaskPodUpdatableFields))
            {
                throw new KubeApiException(422, "Invalid",
                    $"Pod \"{name}\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
                    r.Details(name));
            }
        }
        else if (r == ResourceInfo.Jobs)
        {
            foreach (var field in new[] { "template", "selector", "completions" })
            {
                if (next.At("spec", field) is not null && !SameIgnoring(next.At("spec", field), old.At("spec", field), null))
                {
                    throw KubeApiException.Invalid(r, name, $"spec.{field}", "Invalid value: field is immutable");
                }
            }
        }
        else if (r == ResourceInfo.Pvcs)
        {
            static void MaskSize(JsonObject spec)
            {
                spec.Remove("resources");
                spec.Remove("volumeName");
                spec.Remove("volumeMode");
            }

            if (!SameIgnoring(next.At("spec"), old.At("spec"), MaskSize))
            {
                throw KubeApiException.Invalid(r, name, "spec", "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims");
            }
        }
        else if (r == ResourceInfo.Services)
        {
            var ip = next.Str("spec", "clusterIP");
            if (!string.IsNullOrEmpty(ip) && ip != old.Str("spec", "clusterIP"))
            {
                throw KubeApiException.Invalid(r, name, "spec.clusterIPs[0]", $"Invalid value: \"{ip}\": may not change once set");
            }
        }
        else if (r == ResourceInfo.VolumeSnapshots)
        {
            if (!SameIgnoring(next.At("spec", "source"), old.At("spec", "source"), null))
            {
                throw KubeApiException.Invalid(r, name, "spec.source", "Invalid value: \"object\": spec.source is immutable");
            }
        }
    }

    private static void MaskPodUpdatableFields(JsonObject spec)
    {
        foreach (var c in spec.Objects("containers").Concat(spec.Objects("initContainers")))
        {
            c.Remove("image");
        }

        spec.Remove("activeDeadlineSeconds");
        spec.Remove("tolerations");
        spec.Remove("terminationGracePeriodSeconds");
    }

    /// <summary>Compares two specs after masking the updatable fields and normalizing resource quantities ("2048Gi" = "2Ti").</summary>
    private static bool SameIgnoring(JsonNode? a, JsonNode? b, Action<JsonObject>? mask)
    {
        JsonNode? Prepare(JsonNode? n)
        {
            var copy = n?.DeepClone();
            if (copy is JsonObject o && mask is not null)
            {
                mask(o);
            }

            NormalizeQuantities(copy, false);
            return copy;
        }

        return JsonNode.DeepEquals(Prepare(a), Prepare(b));
    }

    private static void NormalizeQuantities(JsonNode? node, bool inResources)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(kv => kv.Key).ToList())
                {
                    var child = o[key];
                    if (inResources && key is "limits" or "requests" && child is JsonObject amounts)
                    {
                        foreach (var res in amounts.Select(kv => kv.Key).ToList())
                        {
                            amounts[res] = Quantity.Parse(amounts[res].Str()).ToString(CultureInfo.InvariantCulture);
                        }
                    }
                    else
                    {
                        NormalizeQuantities(child, key == "resources");
                    }
                }

                break;
            case JsonArray a:
                foreach (var item in a)
                {
                    NormalizeQuantities(item, false);
                }

                break;
        }
    }

    private static void AdmitPod(JsonObject pod, string name)
    {
        var spec = pod.Obj("spec");
        DefaultPodSpec(spec, name);
        pod["status"] = new JsonObject { ["phase"] = "Pending", ["qosClass"] = QosClass((JsonArray)spec["containers"]!) };
    }

    private static void DefaultPodSpec(JsonObject spec, string name)
    {
        var r = ResourceInfo.Pods;
        if (spec["containers"] is not JsonArray { Count: > 0 } containers)
        {
            throw KubeApiException.Invalid(r, name, "spec.containers", "Required value");
        }

        DefaultContainers(containers, "spec.containers", name);
        if (spec["initContainers"] is JsonArray inits)
        {
            DefaultContainers(inits, "spec.initContainers", name);
        }

        spec["restartPolicy"] ??= "Always";
        spec["dnsPolicy"] ??= "ClusterFirst";
        spec["schedulerName"] ??= "default-scheduler";
        spec["terminationGracePeriodSeconds"] ??= 30;
        spec["serviceAccountName"] ??= spec.Str("serviceAccount") ?? "default";
        spec["serviceAccount"] ??= spec.Str("serviceAccountName");
        spec["securityContext"] ??= new JsonObject();
        spec["enableServiceLinks"] ??= true;
        spec["priority"] ??= 0;
        spec["preemptionPolicy"] ??= "PreemptLowerPriority";
        var tolerations = spec.Arr("tolerations");
        foreach (var key in new[] { "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable" })
        {
            if (!tolerations.OfType<JsonObject>().Any(t => t.Str("key") == key && t.Str("effect") == "NoExecute"))
            {
                tolerations.Add(new JsonObject { ["key"] = key, ["operator"] = "Exists", ["effect"] = "NoExecute", ["tolerationSeconds"] = 300 });
            }
        }
    }

    private static void DefaultContainers(JsonArray containers, string field, string podName)
    {
        for (var i = 0; i < containers.Count; i++)
        {
            if (containers[i] is not JsonObject c || string.IsNullOrEmpty(c.Str("name")))
            {
                throw KubeApiException.Invalid(ResourceInfo.Pods, podName, $"{field}[{i}].name", "Required value");
            }

            var image = c.Str("image");
            if (string.IsNullOrEmpty(image))
            {
                throw KubeApiException.Invalid(ResourceInfo.Pods, podName, $"{field}[{i}].image", "Required value");
            }

            var lastPart = image.Split('/')[^1];
            c["imagePullPolicy"] ??= !lastPart.Contains(':', StringComparison.Ordinal) || lastPart.EndsWith(":latest", StringComparison.Ordinal) ? "Always" : "IfNotPresent";
            c["terminationMessagePath"] ??= "/dev/termination-log";
            c["terminationMessagePolicy"] ??= "File";
            c["resources"] ??= new JsonObject();
            foreach (var port in c.Objects("ports"))
            {
                port["protocol"] ??= "TCP";
            }
        }
    }

    private static string QosClass(JsonArray containers)
    {
        var any = false;
        var guaranteed = true;
        foreach (var c in containers.OfType<JsonObject>())
        {
            var requests = c.StringMap("resources", "requests");
            var limits = c.StringMap("resources", "limits");
            any |= requests.Count > 0 || limits.Count > 0;
            foreach (var res in new[] { "cpu", "memory" })
            {
                if (!limits.TryGetValue(res, out var limit) || (requests.TryGetValue(res, out var req) && Quantity.Parse(req) != Quantity.Parse(limit)))
                {
                    guaranteed = false;
                }
            }
        }

        return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
    }

    private static void AdmitJob(JsonObject job, string name)
    {
        var uid = job.Str("metadata", "uid")!;
        var spec = job.Obj("spec");
        if (spec.At("template", "spec", "containers") is not JsonArray { Count: > 0 })
        {
            throw KubeApiException.Invalid(ResourceInfo.Jobs, name, "spec.template.spec.containers", "Required value");
        }

        var restart = spec.Str("template", "spec", "restartPolicy");
        if (restart is not ("Never" or "OnFailure"))
        {
            throw KubeApiException.Invalid(ResourceInfo.Jobs, name, "spec.template.spec.restartPolicy",
                $"Unsupported value: \"{restart ?? ""}\": supported values: \"OnFailure\", \"Never\"");
        }

        spec["parallelism"] ??= 1;
        spec["completions"] ??= 1;
        spec["backoffLimit"] ??= 6;
        spec["completionMode"] ??= "NonIndexed";
        spec["suspend"] ??= false;
        spec["podReplacementPolicy"] ??= "TerminatingOrFailed";
        spec["manualSelector"] ??= false;
        var labels = spec.Obj("template").Obj("metadata").Obj("labels");
        labels["batch.kubernetes.io/controller-uid"] = uid;
        labels["batch.kubernetes.io/job-name"] = name;
        labels["controller-uid"] = uid;
        labels["job-name"] = name;
        spec["selector"] ??= new JsonObject { ["matchLabels"] = new JsonObject { ["batch.kubernetes.io/controller-uid"] = uid } };
        var jobLabels = job.Obj("metadata").Obj("labels");
        if (jobLabels.Count == 0)
        {
            jobLabels["batch.kubernetes.io/controller-uid"] = uid;
            jobLabels["batch.kubernetes.io/job-name"] = name;
            jobLabels["controller-uid"] = uid;
            jobLabels["job-name"] = name;
        }

        job["status"] = new JsonObject();
    }

    private void AdmitServiceLocked(JsonObject svc, JsonObject? old, string name)
    {
        var r = ResourceInfo.Services;
        var spec = svc.Obj("spec");
        var type = spec.Str("type") ?? "ClusterIP";
        spec["type"] = type;
        var clusterIp = spec.Str("clusterIP");
        if (string.IsNullOrEmpty(clusterIp) && old is not null)
        {
            clusterIp = old.Str("spec", "clusterIP");
        }

        if (clusterIp == "None" && type != "ClusterIP")
        {
            throw KubeApiException.Invalid(r, name, "spec.clusterIPs[0]", "Invalid value: \"None\": may only be set to 'None' for services of type 'ClusterIP'");
        }

        if (string.IsNullOrEmpty(clusterIp))
        {
            var n = _nextClusterIp++;
            clusterIp = $"10.96.{(n / 254) % 256}.{(n % 254) + 1}";
        }

        spec["clusterIP"] = clusterIp;
        spec["clusterIPs"] = new JsonArray(clusterIp);
        spec["ipFamilies"] ??= new JsonArray("IPv4");
        spec["ipFamilyPolicy"] ??= "SingleStack";
        spec["sessionAffinity"] ??= "None";
        spec["internalTrafficPolicy"] ??= "Cluster";
        var nodePorts = type is "NodePort" or "LoadBalancer";
        if (nodePorts)
        {
            spec["externalTrafficPolicy"] ??= "Cluster";
        }

        var uid = svc.Str("metadata", "uid");
        var taken = new HashSet<int>(_store[r].Values
            .Where(s => s.Str("metadata", "uid") != uid)
            .SelectMany(s => s.Objects("spec", "ports"))
            .Select(p => (int)(p.Long("nodePort") ?? 0))
            .Where(p => p > 0));
        var (from, to) = Options.NodePortRange;
        var ports = spec.Objects("ports").ToList();
        for (var i = 0; i < ports.Count; i++)
        {
            var port = ports[i];
            port["protocol"] ??= "TCP";
            if (port["port"] is null)
            {
                throw KubeApiException.Invalid(r, name, $"spec.ports[{i}].port", "Required value");
            }

            port["targetPort"] ??= port["port"]!.DeepClone();
            if (!nodePorts)
            {
                port.Remove("nodePort");
                continue;
            }

            var requested = (int)(port.Long("nodePort") ?? 0);
            if (requested == 0 && old is not null)
            {
                requested = (int)(old.Objects("spec", "ports")
                    .FirstOrDefault(p => p.Str("port") == port.Str("port") && p.Str("protocol") == port.Str("protocol"))?.Long("nodePort") ?? 0);
            }

            if (requested != 0)
            {
                if (requested < from || requested > to)
                {
                    throw KubeApiException.Invalid(r, name, $"spec.ports[{i}].nodePort",
                        $"Invalid value: {requested}: provided port is not in the valid range. The range of valid ports is {from}-{to}");
                }

                if (!taken.Add(requested))
                {
                    throw KubeApiException.Invalid(r, name, $"spec.ports[{i}].nodePort", $"Invalid value: {requested}: provided port is already allocated");
                }

                port["nodePort"] = requested;
                continue;
            }

            var size = to - from + 1;
            var start = Random.Shared.Next(size);
            var allocated = 0;
            for (var k = 0; k < size && allocated == 0; k++)
            {
                var candidate = from + ((start + k) % size);
                if (!taken.Contains(candidate) && IsPortFree(candidate))
                {
                    allocated = candidate;
                }
            }

            if (allocated == 0)
            {
                throw new KubeApiException(500, "InternalError", $"Internal error occurred: failed to allocate a nodePort: range is full");
            }

            taken.Add(allocated);
            port["nodePort"] = allocated;
        }

        if (old is not null)
        {
            svc["status"] = old["status"]?.DeepClone() ?? new JsonObject { ["loadBalancer"] = new JsonObject() };
        }
        else
        {
            svc["status"] = new JsonObject { ["loadBalancer"] = new JsonObject() };
        }
    }

    private bool IsPortFree(int port)
    {
        var addresses = new List<IPAddress> { IPAddress.Loopback };
        if (IPAddress.TryParse(Options.NodeIp, out var nodeIp) && !nodeIp.Equals(IPAddress.Loopback))
        {
            addresses.Add(nodeIp);
        }

        foreach (var address in addresses)
        {
            try
            {
                var listener = new TcpListener(address, port);
                listener.Start();
                listener.Stop();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressNotAvailable)
            {
                // Not an address of this machine: nothing can listen there.
            }
            catch (SocketException)
            {
                return false;
            }
        }

        return true;
    }

    private string NextPodIp()
    {
        var n = _nextPodIp++;
        return string.Create(CultureInfo.InvariantCulture, $"10.244.{(n / 254) % 256}.{(n % 254) + 1}");
    }
}

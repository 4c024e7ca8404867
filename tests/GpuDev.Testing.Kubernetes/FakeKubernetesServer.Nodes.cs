using System.Globalization;
using System.Text.Json.Nodes;

namespace GpuDev.Testing.Kubernetes;

public sealed partial class FakeKubernetesServer
{
    /// <summary>Adds a Ready node (a Node object with capacity, labels, addresses and conditions, as a kubelet would register it).</summary>
    public FakeNode AddNode(string name, int gpus, IReadOnlyDictionary<string, string>? labels = null, string instanceType = "p5.48xlarge",
        int cpu = 192, string memory = "2048Gi", IReadOnlyList<(string Key, string? Value, string Effect)>? taints = null, int efa = 0)
    {
        var allLabels = new JsonObject
        {
            ["beta.kubernetes.io/arch"] = "amd64",
            ["beta.kubernetes.io/os"] = "linux",
            ["beta.kubernetes.io/instance-type"] = instanceType,
            ["kubernetes.io/arch"] = "amd64",
            ["kubernetes.io/os"] = "linux",
            ["kubernetes.io/hostname"] = name,
            ["node.kubernetes.io/instance-type"] = instanceType,
        };
        if (gpus > 0)
        {
            allLabels["nvidia.com/gpu.present"] = "true";
            allLabels["nvidia.com/gpu.count"] = gpus.ToString(CultureInfo.InvariantCulture);
        }

        foreach (var (key, value) in labels ?? new Dictionary<string, string>())
        {
            allLabels[key] = value;
        }

        var resources = new JsonObject
        {
            ["cpu"] = cpu.ToString(CultureInfo.InvariantCulture),
            ["ephemeral-storage"] = "1000Gi",
            ["memory"] = memory,
            ["pods"] = "110",
        };
        if (gpus > 0)
        {
            resources["nvidia.com/gpu"] = gpus.ToString(CultureInfo.InvariantCulture);
        }

        if (efa > 0)
        {
            resources["vpc.amazonaws.com/efa"] = efa.ToString(CultureInfo.InvariantCulture);
        }

        var spec = new JsonObject { ["providerID"] = $"fake:///{name}" };
        if (taints is { Count: > 0 })
        {
            spec["taints"] = new JsonArray(taints.Select(t =>
            {
                var taint = new JsonObject { ["key"] = t.Key, ["effect"] = t.Effect };
                if (t.Value is not null)
                {
                    taint["value"] = t.Value;
                }

                return (JsonNode)taint;
            }).ToArray());
        }

        var now = Now();
        var node = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Node",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = allLabels },
            ["spec"] = spec,
            ["status"] = new JsonObject
            {
                ["capacity"] = resources,
                ["allocatable"] = resources.DeepClone(),
                ["conditions"] = new JsonArray(
                    Condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available", now),
                    Condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", now),
                    Condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", now),
                    Condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now)),
                ["addresses"] = new JsonArray(
                    new JsonObject { ["type"] = "InternalIP", ["address"] = Options.NodeIp },
                    new JsonObject { ["type"] = "Hostname", ["address"] = name }),
                ["nodeInfo"] = new JsonObject
                {
                    ["architecture"] = "amd64",
                    ["operatingSystem"] = "linux",
                    ["osImage"] = "Fake Linux",
                    ["kernelVersion"] = "6.1.0",
                    ["kubeletVersion"] = Options.KubernetesVersion,
                    ["kubeProxyVersion"] = Options.KubernetesVersion,
                    ["containerRuntimeVersion"] = "containerd://1.7.0",
                    ["machineID"] = Guid.NewGuid().ToString("N"),
                    ["systemUUID"] = Guid.NewGuid().ToString(),
                    ["bootID"] = Guid.NewGuid().ToString(),
                },
            },
        };
        lock (_gate)
        {
            try
            {
                return ToFakeNode(CreateLocked(ResourceInfo.Nodes, "", node));
            }
            catch (KubeApiException e)
            {
                throw new InvalidOperationException(e.Message, e);
            }
        }
    }

    /// <summary>The nodes of the cluster now.</summary>
    public IReadOnlyList<FakeNode> Nodes
    {
        get
        {
            lock (_gate)
            {
                return _store[ResourceInfo.Nodes].Values.Select(ToFakeNode).ToList();
            }
        }
    }

    /// <summary>Deletes the Node object (watchers get DELETED); its pods become Failed with reason NodeLost.</summary>
    public void RemoveNode(string name)
    {
        lock (_gate)
        {
            var node = Find(ResourceInfo.Nodes, null, name) ?? throw new InvalidOperationException($"node {name} does not exist");
            RemoveLocked(ResourceInfo.Nodes, node);
            foreach (var pod in PodsOnNodeLocked(name).Where(p => !IsTerminal(p)).ToList())
            {
                TerminatePodLocked(pod, "Failed", "NodeLost",
                    $"Node {name} which was running pod {pod.Str("metadata", "name")} is unresponsive", 137, "ContainerStatusUnknown");
            }
        }
    }

    /// <summary>Sets the node's Ready condition (and the node.kubernetes.io/not-ready:NoSchedule taint, as the node lifecycle controller does).</summary>
    public void SetNodeReady(string name, bool ready)
    {
        lock (_gate)
        {
            var node = Find(ResourceInfo.Nodes, null, name) ?? throw new InvalidOperationException($"node {name} does not exist");
            var now = Now();
            UpdateLocked(ResourceInfo.Nodes, node, n =>
            {
                var conditions = n.Obj("status").Arr("conditions");
                foreach (var c in conditions.OfType<JsonObject>().Where(c => c.Str("type") == "Ready"))
                {
                    if (c.Str("status") != (ready ? "True" : "False"))
                    {
                        c["lastTransitionTime"] = now;
                    }

                    c["status"] = ready ? "True" : "False";
                    c["reason"] = ready ? "KubeletReady" : "KubeletNotReady";
                    c["message"] = ready ? "kubelet is posting ready status" : "container runtime network not ready: NetworkReady=false";
                    c["lastHeartbeatTime"] = now;
                }

                SetTaint(n, "node.kubernetes.io/not-ready", !ready);
            });
            foreach (var pod in PodsOnNodeLocked(name).Where(p => p.Str("status", "phase") == "Running").ToList())
            {
                UpdateLocked(ResourceInfo.Pods, pod, p => SetPodCondition(p, "Ready", ready ? "True" : "False", null, null, now));
            }
        }
    }

    /// <summary>Cordons (spec.unschedulable plus the node.kubernetes.io/unschedulable taint) or uncordons a node.</summary>
    public void CordonNode(string name, bool cordoned)
    {
        lock (_gate)
        {
            var node = Find(ResourceInfo.Nodes, null, name) ?? throw new InvalidOperationException($"node {name} does not exist");
            UpdateLocked(ResourceInfo.Nodes, node, n =>
            {
                if (cordoned)
                {
                    n.Obj("spec")["unschedulable"] = true;
                }
                else
                {
                    n.Obj("spec").Remove("unschedulable");
                }

                SetTaint(n, "node.kubernetes.io/unschedulable", cordoned);
            });
        }
    }

    /// <summary>Fails a pod: phase Failed, status.reason/message, containers terminated.</summary>
    public void FailPod(string ns, string name, string reason, string message)
    {
        lock (_gate)
        {
            var pod = Find(ResourceInfo.Pods, ns, name) ?? throw new InvalidOperationException($"pod {ns}/{name} does not exist");
            TerminatePodLocked(pod, "Failed", reason, message, 1, "Error");
        }
    }

    /// <summary>The pod's (only) container ended, as a kubelet reports it for <c>restartPolicy: Never</c>: phase Succeeded
    /// (exit 0) or Failed with the exit code and <paramref name="message"/> as the termination message; <paramref name="log"/>
    /// becomes what <c>GET .../log</c> returns. Nothing happens when the pod is gone or already ended.</summary>
    public void EndPodContainer(string ns, string name, int exitCode, string? message, string log)
    {
        lock (_gate)
        {
            if (Find(ResourceInfo.Pods, ns, name) is not { } pod || pod.At("metadata", "deletionTimestamp") is not null)
            {
                return;
            }

            _podLogs[$"{ns}/{name}"] = log;
            TerminatePodLocked(pod, exitCode == 0 ? "Succeeded" : "Failed", null, exitCode == 0 ? null : message, exitCode, exitCode == 0 ? "Completed" : "Error");
        }
    }

    /// <summary>Evicts a pod as the kubelet does under node pressure: phase Failed, reason Evicted, a DisruptionTarget condition and an Evicted event.</summary>
    public void EvictPod(string ns, string name, string message = "The node was low on resource: memory.")
    {
        lock (_gate)
        {
            var pod = Find(ResourceInfo.Pods, ns, name) ?? throw new InvalidOperationException($"pod {ns}/{name} does not exist");
            var updated = TerminatePodLocked(pod, "Failed", "Evicted", message, 137, "ContainerStatusUnknown");
            if (updated is not null)
            {
                UpdateLocked(ResourceInfo.Pods, updated, p => SetPodCondition(p, "DisruptionTarget", "True", "TerminationByKubelet", message));
                RecordEventLocked(updated, "Warning", "Evicted", message, "kubelet", updated.Str("spec", "nodeName"));
            }
        }
    }

    private static JsonObject Condition(string type, string status, string reason, string message, string now) => new()
    {
        ["type"] = type,
        ["status"] = status,
        ["lastHeartbeatTime"] = now,
        ["lastTransitionTime"] = now,
        ["reason"] = reason,
        ["message"] = message,
    };

    private static void SetTaint(JsonObject node, string key, bool present)
    {
        var spec = node.Obj("spec");
        var taints = spec.Arr("taints");
        var existing = taints.OfType<JsonObject>().Where(t => t.Str("key") == key).ToList();
        if (present && existing.Count == 0)
        {
            taints.Add(new JsonObject { ["key"] = key, ["effect"] = "NoSchedule", ["timeAdded"] = null });
        }
        else if (!present)
        {
            foreach (var t in existing)
            {
                taints.Remove(t);
            }
        }

        if (taints.Count == 0)
        {
            spec.Remove("taints");
        }
    }

    private static FakeNode ToFakeNode(JsonObject node)
    {
        var labels = node.StringMap("metadata", "labels");
        var capacity = node.StringMap("status", "capacity");
        int Int(string key) => (int)Quantity.Parse(capacity.GetValueOrDefault(key));
        return new FakeNode(
            node.Str("metadata", "name") ?? "",
            Int("nvidia.com/gpu"),
            labels.GetValueOrDefault("node.kubernetes.io/instance-type", ""),
            labels,
            node.Objects("status", "addresses").FirstOrDefault(a => a.Str("type") == "InternalIP")?.Str("address") ?? "",
            Int("cpu"),
            capacity.GetValueOrDefault("memory", "0"),
            Int("vpc.amazonaws.com/efa"));
    }

    private IEnumerable<JsonObject> PodsOnNodeLocked(string node) =>
        _store[ResourceInfo.Pods].Values.Where(p => p.Str("spec", "nodeName") == node);

    private static bool IsTerminal(JsonObject pod) => pod.Str("status", "phase") is "Succeeded" or "Failed";
}

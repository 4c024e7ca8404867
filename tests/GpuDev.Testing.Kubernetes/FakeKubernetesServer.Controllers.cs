using System.Globalization;
using System.Text.Json.Nodes;

namespace GpuDev.Testing.Kubernetes;

public sealed partial class FakeKubernetesServer
{
    private readonly HashSet<string> _kubeletStarted = new(StringComparer.Ordinal);
    private readonly HashSet<string> _snapshotsInProgress = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _eventNames = new(StringComparer.Ordinal);
    private long _eventCounter;

    // ---- deletion and garbage collection ----------------------------------------------------------------------

    private (JsonObject Object, bool Gone) DeleteObject(ResourceInfo r, string ns, string name, string? policy, long? grace)
    {
        lock (_gate)
        {
            var obj = Find(r, ns, name) ?? throw KubeApiException.NotFound(r, name);
            var uid = obj.Str("metadata", "uid");
            var effective = policy ?? (r == ResourceInfo.Jobs ? "Orphan" : "Background");
            foreach (var childResource in ResourceInfo.All)
            {
                var children = _store[childResource].Values
                    .Where(c => c.Objects("metadata", "ownerReferences").Any(o => o.Str("uid") == uid)).ToList();
                foreach (var child in children)
                {
                    if (effective == "Orphan")
                    {
                        UpdateLocked(childResource, child, c =>
                        {
                            var refs = c.Obj("metadata").Arr("ownerReferences");
                            foreach (var o in refs.OfType<JsonObject>().Where(o => o.Str("uid") == uid).ToList())
                            {
                                refs.Remove(o);
                            }

                            if (refs.Count == 0)
                            {
                                c.Obj("metadata").Remove("ownerReferences");
                            }
                        });
                    }
                    else
                    {
                        DeleteObject(childResource, child.Str("metadata", "namespace") ?? "", child.Str("metadata", "name")!, "Background", null);
                    }
                }
            }

            if (r == ResourceInfo.Pods)
            {
                return DeletePodLocked(obj, grace);
            }

            if (obj.At("metadata", "finalizers") is JsonArray { Count: > 0 })
            {
                var marked = obj.At("metadata", "deletionTimestamp") is null
                    ? UpdateLocked(r, obj, o => o.Obj("metadata")["deletionTimestamp"] = Now())
                    : obj;
                return ((marked ?? obj).Clone(), false);
            }

            return (RemoveLocked(r, obj).Clone(), true);
        }
    }

    private (JsonObject Object, bool Gone) DeletePodLocked(JsonObject pod, long? grace)
    {
        var bound = !string.IsNullOrEmpty(pod.Str("spec", "nodeName"));
        var deleting = pod.At("metadata", "deletionTimestamp") is not null;
        if (bound && !IsTerminal(pod) && grace != 0)
        {
            if (deleting)
            {
                return (pod.Clone(), false);
            }

            var seconds = grace ?? pod.Long("spec", "terminationGracePeriodSeconds") ?? 30;
            var marked = UpdateLocked(ResourceInfo.Pods, pod, p =>
            {
                var meta = p.Obj("metadata");
                meta["deletionTimestamp"] = Json.Timestamp(Time.GetUtcNow().AddSeconds(seconds));
                meta["deletionGracePeriodSeconds"] = seconds;
            });
            var snapshot = (marked ?? pod).Clone();
            Track(async () =>
            {
                if (OnPodDeleted is { } hook)
                {
                    await hook(snapshot.Clone(), _stopping.Token).ConfigureAwait(false);
                }

                lock (_gate)
                {
                    var current = Find(ResourceInfo.Pods, snapshot.Str("metadata", "namespace"), snapshot.Str("metadata", "name")!);
                    if (current is not null && current.Str("metadata", "uid") == snapshot.Str("metadata", "uid"))
                    {
                        RemoveLocked(ResourceInfo.Pods, current);
                    }
                }
            });
            return (snapshot, false);
        }

        var gone = RemoveLocked(ResourceInfo.Pods, pod);
        if (OnPodDeleted is { } onDeleted)
        {
            var copy = gone.Clone();
            Track(() => onDeleted(copy, _stopping.Token));
        }

        return (gone, true);
    }

    private void OnRemovedLocked(ResourceInfo r, JsonObject gone)
    {
        var uid = gone.Str("metadata", "uid") ?? "";
        _creationOrder.Remove(uid);
        if (r == ResourceInfo.Pods)
        {
            _podLogs.Remove($"{gone.Str("metadata", "namespace")}/{gone.Str("metadata", "name")}");
            _kubeletStarted.Remove(uid);
        }
        else if (r == ResourceInfo.VolumeSnapshots)
        {
            _snapshotsInProgress.Remove(uid);
        }
        else if (r == ResourceInfo.Jobs)
        {
            _failingJobs.Remove($"{gone.Str("metadata", "namespace")}/{gone.Str("metadata", "name")}");
            _jobMessages.Remove($"{gone.Str("metadata", "namespace")}/{gone.Str("metadata", "name")}");
        }
    }

    private IEnumerable<JsonObject> OwnedBy(JsonObject owner)
    {
        var uid = owner.Str("metadata", "uid");
        return _store[ResourceInfo.Pods].Values.Where(p => p.Objects("metadata", "ownerReferences").Any(o => o.Str("uid") == uid));
    }

    // ---- controller loop ---------------------------------------------------------------------------------------

    private async Task ControllerLoopAsync(CancellationToken ct)
    {
        try
        {
            await foreach (var e in _controllerQueue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
            {
                try
                {
                    lock (_gate)
                    {
                        React(e);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogBackgroundFailure(_logger, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void React(StoredEvent e)
    {
        var o = e.Object;
        if (e.Resource == ResourceInfo.Pods)
        {
            if (e.Type != "DELETED" && !string.IsNullOrEmpty(o.Str("spec", "nodeName")) && !IsTerminal(o)
                && o.At("metadata", "deletionTimestamp") is null && Find(ResourceInfo.Pods, o.Str("metadata", "namespace"), o.Str("metadata", "name")!) is not null
                && _kubeletStarted.Add(o.Str("metadata", "uid")!))
            {
                var (ns, name, uid) = (o.Str("metadata", "namespace")!, o.Str("metadata", "name")!, o.Str("metadata", "uid")!);
                Track(() => RunKubeletAsync(ns, name, uid, _stopping.Token));
            }

            if (e.Type == "ADDED" || e.Type == "DELETED" || IsTerminal(o))
            {
                SchedulePassLocked();
            }

            foreach (var owner in o.Objects("metadata", "ownerReferences").Where(x => x.Str("kind") == "Job"))
            {
                if (Find(ResourceInfo.Jobs, o.Str("metadata", "namespace"), owner.Str("name") ?? "") is { } job && job.Str("metadata", "uid") == owner.Str("uid"))
                {
                    SyncJobLocked(job);
                }
            }
        }
        else if (e.Resource == ResourceInfo.Nodes)
        {
            SchedulePassLocked();
        }
        else if (e.Resource == ResourceInfo.Jobs && e.Type != "DELETED")
        {
            SyncJobLocked(o);
        }
        else if (e.Resource == ResourceInfo.Pvcs && e.Type != "DELETED")
        {
            ReconcilePvcsLocked();
            ReconcileSnapshotsLocked();
        }
        else if (e.Resource == ResourceInfo.VolumeSnapshots && e.Type != "DELETED")
        {
            ReconcileSnapshotsLocked();
            ReconcilePvcsLocked();
        }
    }

    // ---- events ------------------------------------------------------------------------------------------------

    private void RecordEventLocked(JsonObject involved, string type, string reason, string message, string component, string? host = null)
    {
        var uid = involved.Str("metadata", "uid") ?? "";
        var ns = involved.Str("metadata", "namespace") ?? "default";
        var key = $"{uid}|{type}|{reason}|{message}";
        var now = Now();
        if (_eventNames.TryGetValue(key, out var existingName) && Find(ResourceInfo.Events, ns, existingName) is { } existing)
        {
            UpdateLocked(ResourceInfo.Events, existing, ev =>
            {
                ev["count"] = (ev.Long("count") ?? 1) + 1;
                ev["lastTimestamp"] = now;
            });
            return;
        }

        var name = $"{involved.Str("metadata", "name")}.{(Time.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000) + (++_eventCounter % 1_000_000):x}";
        var source = new JsonObject { ["component"] = component };
        if (host is not null)
        {
            source["host"] = host;
        }

        var ev = new JsonObject
        {
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["involvedObject"] = new JsonObject
            {
                ["kind"] = involved.Str("kind"),
                ["namespace"] = involved.Str("metadata", "namespace"),
                ["name"] = involved.Str("metadata", "name"),
                ["uid"] = uid,
                ["apiVersion"] = involved.Str("apiVersion"),
                ["resourceVersion"] = involved.Str("metadata", "resourceVersion"),
            },
            ["reason"] = reason,
            ["message"] = message,
            ["source"] = source,
            ["firstTimestamp"] = now,
            ["lastTimestamp"] = now,
            ["count"] = 1,
            ["type"] = type,
            ["eventTime"] = null,
            ["reportingComponent"] = component,
            ["reportingInstance"] = host ?? "",
        };
        CreateLocked(ResourceInfo.Events, ns, ev);
        _eventNames[key] = name;
    }

    private static void SetPodCondition(JsonObject pod, string type, string status, string? reason, string? message, string? now = null)
    {
        var conditions = pod.Obj("status").Arr("conditions");
        var c = conditions.OfType<JsonObject>().FirstOrDefault(x => x.Str("type") == type);
        if (c is null)
        {
            c = new JsonObject { ["type"] = type };
            conditions.Add(c);
        }

        if (c.Str("status") != status || c["lastTransitionTime"] is null)
        {
            c["lastTransitionTime"] = now ?? Json.Timestamp(DateTimeOffset.UtcNow);
        }

        c["status"] = status;
        c["lastProbeTime"] = null;
        if (reason is null)
        {
            c.Remove("reason");
        }
        else
        {
            c["reason"] = reason;
        }

        if (message is null)
        {
            c.Remove("message");
        }
        else
        {
            c["message"] = message;
        }
    }

    // ---- scheduler ---------------------------------------------------------------------------------------------

    private void SchedulePassLocked()
    {
        var pending = _store[ResourceInfo.Pods].Values
            .Where(p => string.IsNullOrEmpty(p.Str("spec", "nodeName")) && p.Str("status", "phase") == "Pending"
                        && p.At("metadata", "deletionTimestamp") is null && p.Str("spec", "schedulerName") is null or "default-scheduler")
            .OrderBy(p => _creationOrder.GetValueOrDefault(p.Str("metadata", "uid") ?? "", long.MaxValue))
            .ToList();
        foreach (var pod in pending)
        {
            var nodes = _store[ResourceInfo.Nodes].Values.ToList();
            var reasons = new Dictionary<string, int>(StringComparer.Ordinal);
            JsonObject? best = null;
            decimal bestFree = -1;
            var request = PodRequests(pod);
            foreach (var node in nodes)
            {
                var failures = FilterNode(pod, node, request);
                if (failures.Count == 0)
                {
                    var free = Allocatable(node).GetValueOrDefault("nvidia.com/gpu") - UsedOnNode(node.Str("metadata", "name")!).GetValueOrDefault("nvidia.com/gpu");
                    if (free > bestFree)
                    {
                        (best, bestFree) = (node, free);
                    }
                }

                foreach (var f in failures)
                {
                    reasons[f] = reasons.GetValueOrDefault(f) + 1;
                }
            }

            if (best is not null)
            {
                BindLocked(pod, best);
                continue;
            }

            var message = nodes.Count == 0
                ? "no nodes available to schedule pods"
                : $"0/{nodes.Count} nodes are available: {string.Join(", ", reasons.Select(kv => $"{kv.Value} {kv.Key}").Order(StringComparer.Ordinal))}.";
            var current = pod.Objects("status", "conditions").FirstOrDefault(c => c.Str("type") == "PodScheduled");
            if (current?.Str("message") != message)
            {
                var now = Now();
                var updated = UpdateLocked(ResourceInfo.Pods, pod, p => SetPodCondition(p, "PodScheduled", "False", "Unschedulable", message, now));
                if (updated is not null)
                {
                    RecordEventLocked(updated, "Warning", "FailedScheduling", message, "default-scheduler");
                }
            }
        }
    }

    private void BindLocked(JsonObject pod, JsonObject node)
    {
        var nodeName = node.Str("metadata", "name")!;
        var now = Now();
        var bound = UpdateLocked(ResourceInfo.Pods, pod, p =>
        {
            p.Obj("spec")["nodeName"] = nodeName;
            SetPodCondition(p, "PodScheduled", "True", null, null, now);
        });
        if (bound is not null)
        {
            RecordEventLocked(bound, "Normal", "Scheduled",
                $"Successfully assigned {bound.Str("metadata", "namespace")}/{bound.Str("metadata", "name")} to {nodeName}", "default-scheduler");
        }
    }

    private List<string> FilterNode(JsonObject pod, JsonObject node, Dictionary<string, decimal> request)
    {
        var failures = new List<string>();
        var tolerations = pod.Objects("spec", "tolerations").ToList();
        var taints = node.Objects("spec", "taints").ToList();
        var ready = node.Objects("status", "conditions").FirstOrDefault(c => c.Str("type") == "Ready")?.Str("status") == "True";
        if (!ready && !taints.Any(t => t.Str("key") == "node.kubernetes.io/not-ready"))
        {
            taints.Add(new JsonObject { ["key"] = "node.kubernetes.io/not-ready", ["effect"] = "NoSchedule" });
        }

        if (node.Bool("spec", "unschedulable") &&
            !tolerations.Any(t => Tolerates(t, new JsonObject { ["key"] = "node.kubernetes.io/unschedulable", ["effect"] = "NoSchedule" })))
        {
            failures.Add("node(s) were unschedulable");
            return failures;
        }

        var untolerated = taints.FirstOrDefault(t => t.Str("effect") is "NoSchedule" or "NoExecute" && !tolerations.Any(x => Tolerates(x, t)));
        if (untolerated is not null)
        {
            failures.Add($"node(s) had untolerated taint {{{untolerated.Str("key")}: {untolerated.Str("value")}}}");
            return failures;
        }

        if (!MatchesNodeSelector(pod, node))
        {
            failures.Add("node(s) didn't match Pod's node affinity/selector");
            return failures;
        }

        var allocatable = Allocatable(node);
        var used = UsedOnNode(node.Str("metadata", "name")!);
        var podCount = PodsOnNodeLocked(node.Str("metadata", "name")!).Count(p => !IsTerminal(p));
        if (podCount + 1 > allocatable.GetValueOrDefault("pods", 110))
        {
            failures.Add("Too many pods");
        }

        foreach (var (resource, amount) in request.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (amount <= 0 || resource == "pods")
            {
                continue;
            }

            if (!allocatable.TryGetValue(resource, out var capacity))
            {
                if (!resource.Contains('/', StringComparison.Ordinal))
                {
                    continue;
                }

                capacity = 0;
            }

            if (used.GetValueOrDefault(resource) + amount > capacity)
            {
                failures.Add($"Insufficient {resource}");
            }
        }

        return failures;
    }

    private static bool Tolerates(JsonObject toleration, JsonObject taint)
    {
        var effect = toleration.Str("effect");
        if (!string.IsNullOrEmpty(effect) && effect != taint.Str("effect"))
        {
            return false;
        }

        var key = toleration.Str("key");
        var op = toleration.Str("operator") ?? "Equal";
        if (string.IsNullOrEmpty(key))
        {
            return op == "Exists";
        }

        return key == taint.Str("key") && (op == "Exists" || (toleration.Str("value") ?? "") == (taint.Str("value") ?? ""));
    }

    private static bool MatchesNodeSelector(JsonObject pod, JsonObject node)
    {
        var labels = node.StringMap("metadata", "labels");
        foreach (var (key, value) in pod.StringMap("spec", "nodeSelector"))
        {
            if (!labels.TryGetValue(key, out var actual) || actual != value)
            {
                return false;
            }
        }

        var terms = pod.Objects("spec", "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms").ToList();
        if (terms.Count == 0)
        {
            return true;
        }

        var name = node.Str("metadata", "name") ?? "";
        return terms.Any(term =>
        {
            var exprs = term.Objects("matchExpressions").ToList();
            var fields = term.Objects("matchFields").ToList();
            if (exprs.Count == 0 && fields.Count == 0)
            {
                return false;
            }

            return exprs.All(e => MatchesExpression(e, labels.TryGetValue(e.Str("key") ?? "", out var v) ? v : null))
                   && fields.All(f => MatchesExpression(f, f.Str("key") == "metadata.name" ? name : null));
        });
    }

    private static bool MatchesExpression(JsonObject expr, string? value)
    {
        var values = expr.At("values") is JsonArray a ? a.Select(v => v.Str() ?? "").ToList() : [];
        return expr.Str("operator") switch
        {
            "In" => value is not null && values.Contains(value),
            "NotIn" => value is null || !values.Contains(value),
            "Exists" => value is not null,
            "DoesNotExist" => value is null,
            "Gt" => Compare(value, values) > 0,
            "Lt" => Compare(value, values) is < 0 and not int.MinValue,
            _ => false,
        };
    }

    /// <summary>Sign of label value minus the single operand, or int.MinValue when either is not an integer.</summary>
    private static int Compare(string? value, List<string> operands) =>
        value is not null && operands.Count == 1
        && long.TryParse(value, CultureInfo.InvariantCulture, out var actual)
        && long.TryParse(operands[0], CultureInfo.InvariantCulture, out var bound)
            ? actual.CompareTo(bound)
            : int.MinValue;

    private static Dictionary<string, decimal> Allocatable(JsonObject node) =>
        node.StringMap("status", "allocatable").ToDictionary(kv => kv.Key, kv => Quantity.Parse(kv.Value), StringComparer.Ordinal);

    private Dictionary<string, decimal> UsedOnNode(string node)
    {
        var used = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var pod in PodsOnNodeLocked(node).Where(p => !IsTerminal(p)))
        {
            foreach (var (k, v) in PodRequests(pod))
            {
                used[k] = used.GetValueOrDefault(k) + v;
            }
        }

        return used;
    }

    /// <summary>Effective requests: per container requests (limits when a request is missing), summed; init containers by max.</summary>
    private static Dictionary<string, decimal> PodRequests(JsonObject pod)
    {
        static Dictionary<string, decimal> Of(JsonObject c)
        {
            var result = new Dictionary<string, decimal>(StringComparer.Ordinal);
            foreach (var (k, v) in c.StringMap("resources", "limits"))
            {
                result[k] = Quantity.Parse(v);
            }

            foreach (var (k, v) in c.StringMap("resources", "requests"))
            {
                result[k] = Quantity.Parse(v);
            }

            return result;
        }

        var total = new Dictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var c in pod.Objects("spec", "containers"))
        {
            foreach (var (k, v) in Of(c))
            {
                total[k] = total.GetValueOrDefault(k) + v;
            }
        }

        foreach (var c in pod.Objects("spec", "initContainers"))
        {
            foreach (var (k, v) in Of(c))
            {
                total[k] = Math.Max(total.GetValueOrDefault(k), v);
            }
        }

        return total;
    }

    // ---- kubelet -----------------------------------------------------------------------------------------------

    private async Task RunKubeletAsync(string ns, string name, string uid, CancellationToken ct)
    {
        JsonObject pod;
        FakeNode node;
        lock (_gate)
        {
            var current = Find(ResourceInfo.Pods, ns, name);
            if (current is null || current.Str("metadata", "uid") != uid || current.At("metadata", "deletionTimestamp") is not null)
            {
                return;
            }

            var nodeName = current.Str("spec", "nodeName")!;
            var nodeObj = Find(ResourceInfo.Nodes, null, nodeName);
            if (nodeObj is null)
            {
                return;
            }

            node = ToFakeNode(nodeObj);
            var now = Now();
            var podIp = NextPodIp();
            var started = UpdateLocked(ResourceInfo.Pods, current, p =>
            {
                var status = p.Obj("status");
                status["hostIP"] = node.InternalIp;
                status["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = node.InternalIp });
                status["podIP"] = podIp;
                status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = podIp });
                status["startTime"] = now;
                var hasInit = p.Objects("spec", "initContainers").Any();
                SetPodCondition(p, "PodReadyToStartContainers", "True", null, null, now);
                SetPodCondition(p, "Initialized", hasInit ? "False" : "True", hasInit ? "ContainersNotInitialized" : null, null, now);
                SetPodCondition(p, "Ready", "False", "ContainersNotReady", "containers with unready status", now);
                SetPodCondition(p, "ContainersReady", "False", "ContainersNotReady", "containers with unready status", now);
                if (hasInit)
                {
                    status["initContainerStatuses"] = ContainerStatuses(p, "initContainers", _ => Waiting("PodInitializing", null));
                }

                status["containerStatuses"] = ContainerStatuses(p, "containers", _ => Waiting("ContainerCreating", null));
            });
            if (started is null)
            {
                return;
            }

            var badImages = AllContainers(started).Select(c => c.Str("image") ?? "").Where(i => i.Contains("does-not-exist", StringComparison.Ordinal)).ToList();
            if (badImages.Count > 0)
            {
                FailImagePullLocked(started, badImages, nodeName);
                return;
            }

            pod = started;
        }

        if (OnPodStarting is { } hook)
        {
            try
            {
                await hook(new PodStartContext(pod.Clone(), node, this), ct).ConfigureAwait(false);
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                lock (_gate)
                {
                    if (Find(ResourceInfo.Pods, ns, name) is { } current && current.Str("metadata", "uid") == uid)
                    {
                        TerminatePodLocked(current, "Failed", null, e.Message, 1, "Error");
                        RecordEventLocked(current, "Warning", "Failed", $"Error: {e.Message}", "kubelet", node.Name);
                    }
                }

                return;
            }
        }

        if (Options.StartDelay > TimeSpan.Zero)
        {
            await Task.Delay(Options.StartDelay, Time, ct).ConfigureAwait(false);
        }

        lock (_gate)
        {
            var current = Find(ResourceInfo.Pods, ns, name);
            if (current is null || current.Str("metadata", "uid") != uid || current.Str("status", "phase") != "Pending"
                || current.At("metadata", "deletionTimestamp") is not null || current.Str("spec", "nodeName") != node.Name)
            {
                return;
            }

            var now = Now();
            foreach (var c in AllContainers(current))
            {
                var image = c.Str("image");
                RecordEventLocked(current, "Normal", "Pulled", $"Container image \"{image}\" already present on machine", "kubelet", node.Name);
                RecordEventLocked(current, "Normal", "Created", $"Created container: {c.Str("name")}", "kubelet", node.Name);
                RecordEventLocked(current, "Normal", "Started", $"Started container {c.Str("name")}", "kubelet", node.Name);
            }

            var running = UpdateLocked(ResourceInfo.Pods, current, p =>
            {
                var status = p.Obj("status");
                status["phase"] = "Running";
                SetPodCondition(p, "Initialized", "True", null, null, now);
                SetPodCondition(p, "Ready", "True", null, null, now);
                SetPodCondition(p, "ContainersReady", "True", null, null, now);
                if (status["initContainerStatuses"] is not null)
                {
                    status["initContainerStatuses"] = ContainerStatuses(p, "initContainers", _ => new JsonObject
                    {
                        ["terminated"] = new JsonObject { ["exitCode"] = 0, ["reason"] = "Completed", ["startedAt"] = now, ["finishedAt"] = now },
                    }, ready: false);
                }

                status["containerStatuses"] = ContainerStatuses(p, "containers",
                    _ => new JsonObject { ["running"] = new JsonObject { ["startedAt"] = now } }, ready: true);
            });
            if (running is null)
            {
                return;
            }

            var job = running.Objects("metadata", "ownerReferences").FirstOrDefault(o => o.Str("kind") == "Job");
            if (job is not null)
            {
                if (_failingJobs.TryGetValue($"{ns}/{job.Str("name")}", out var failure))
                {
                    TerminatePodLocked(running, "Failed", null, failure, 1, "Error");
                }
                else if (!HoldJobs)
                {
                    TerminatePodLocked(running, "Succeeded", null, null, 0, "Completed", _jobMessages.GetValueOrDefault($"{ns}/{job.Str("name")}"));
                }
            }
        }
    }

    private void FailImagePullLocked(JsonObject pod, List<string> badImages, string nodeName)
    {
        var image = badImages[0];
        var pullMessage = $"failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {image}: not found";
        RecordEventLocked(pod, "Normal", "Pulling", $"Pulling image \"{image}\"", "kubelet", nodeName);
        RecordEventLocked(pod, "Warning", "Failed", $"Failed to pull image \"{image}\": rpc error: code = NotFound desc = {pullMessage}", "kubelet", nodeName);
        RecordEventLocked(pod, "Warning", "Failed", "Error: ErrImagePull", "kubelet", nodeName);
        var pulled = UpdateLocked(ResourceInfo.Pods, pod, p =>
            p.Obj("status")["containerStatuses"] = ContainerStatuses(p, "containers",
                c => badImages.Contains(c.Str("image") ?? "") ? Waiting("ErrImagePull", $"rpc error: code = NotFound desc = {pullMessage}") : Waiting("ContainerCreating", null)));
        if (pulled is null)
        {
            return;
        }

        RecordEventLocked(pulled, "Normal", "BackOff", $"Back-off pulling image \"{image}\"", "kubelet", nodeName);
        RecordEventLocked(pulled, "Warning", "Failed", "Error: ImagePullBackOff", "kubelet", nodeName);
        UpdateLocked(ResourceInfo.Pods, pulled, p =>
            p.Obj("status")["containerStatuses"] = ContainerStatuses(p, "containers",
                c => badImages.Contains(c.Str("image") ?? "") ? Waiting("ImagePullBackOff", $"Back-off pulling image \"{c.Str("image")}\": ErrImagePull: rpc error: code = NotFound desc = {pullMessage}") : Waiting("ContainerCreating", null)));
    }

    private static IEnumerable<JsonObject> AllContainers(JsonObject pod) =>
        pod.Objects("spec", "initContainers").Concat(pod.Objects("spec", "containers"));

    private static JsonObject Waiting(string reason, string? message)
    {
        var waiting = new JsonObject { ["reason"] = reason };
        if (message is not null)
        {
            waiting["message"] = message;
        }

        return new JsonObject { ["waiting"] = waiting };
    }

    private static JsonArray ContainerStatuses(JsonObject pod, string field, Func<JsonObject, JsonObject> state, bool ready = false)
    {
        var result = new JsonArray();
        foreach (var c in pod.Objects("spec", field))
        {
            var running = state(c)["running"] is not null;
            result.Add(new JsonObject
            {
                ["name"] = c.Str("name"),
                ["state"] = state(c),
                ["lastState"] = new JsonObject(),
                ["ready"] = ready && running,
                ["started"] = running,
                ["restartCount"] = 0,
                ["image"] = c.Str("image"),
                ["imageID"] = "",
                ["containerID"] = running ? $"containerd://{Guid.NewGuid():N}" : null,
            });
        }

        return result;
    }

    /// <param name="containerMessage">The containers' termination message (what they wrote to terminationMessagePath) when it is not <paramref name="message"/>.</param>
    private JsonObject? TerminatePodLocked(JsonObject pod, string phase, string? reason, string? message, int exitCode, string containerReason, string? containerMessage = null)
    {
        if (IsTerminal(pod))
        {
            return null;
        }

        var now = Now();
        return UpdateLocked(ResourceInfo.Pods, pod, p =>
        {
            var status = p.Obj("status");
            status["phase"] = phase;
            if (reason is not null)
            {
                status["reason"] = reason;
            }

            if (message is not null)
            {
                status["message"] = message;
            }

            var podReason = phase == "Succeeded" ? "PodCompleted" : "PodFailed";
            SetPodCondition(p, "Ready", "False", podReason, null, now);
            SetPodCondition(p, "ContainersReady", "False", podReason, null, now);
            SetPodCondition(p, "PodReadyToStartContainers", "False", null, null, now);
            status["containerStatuses"] = ContainerStatuses(p, "containers", c =>
            {
                var terminated = new JsonObject
                {
                    ["exitCode"] = exitCode,
                    ["reason"] = containerReason,
                    ["startedAt"] = status.Str("startTime") ?? now,
                    ["finishedAt"] = now,
                };
                if (message is not null && phase == "Failed")
                {
                    terminated["message"] = message;
                }
                else if (containerMessage is not null)
                {
                    terminated["message"] = containerMessage;
                }

                return new JsonObject { ["terminated"] = terminated };
            });
        });
    }

    // ---- jobs --------------------------------------------------------------------------------------------------

    private void SyncJobLocked(JsonObject job)
    {
        job = Find(ResourceInfo.Jobs, job.Str("metadata", "namespace"), job.Str("metadata", "name")!) ?? job;
        if (job.At("metadata", "deletionTimestamp") is not null || Find(ResourceInfo.Jobs, job.Str("metadata", "namespace"), job.Str("metadata", "name")!) is null)
        {
            return;
        }

        var pods = OwnedBy(job).ToList();
        var active = pods.Count(p => !IsTerminal(p));
        var succeeded = pods.Count(p => p.Str("status", "phase") == "Succeeded");
        var failed = pods.Count(p => p.Str("status", "phase") == "Failed");
        var ready = pods.Count(p => p.Str("status", "phase") == "Running" &&
                                    p.Objects("status", "conditions").Any(c => c.Str("type") == "Ready" && c.Str("status") == "True"));
        var completions = job.Long("spec", "completions") ?? 1;
        var backoff = job.Long("spec", "backoffLimit") ?? 6;
        var finished = job.Objects("status", "conditions").Any(c => c.Str("type") is "Complete" or "Failed" && c.Str("status") == "True");
        var now = Now();
        var updated = UpdateLocked(ResourceInfo.Jobs, job, j =>
        {
            var status = j.Obj("status");
            status["startTime"] ??= now;
            SetCount(status, "active", active);
            SetCount(status, "succeeded", succeeded);
            SetCount(status, "failed", failed);
            status["ready"] = ready;
            status["terminating"] = 0;
            status["uncountedTerminatedPods"] = new JsonObject();
            if (finished)
            {
                return;
            }

            if (succeeded >= completions)
            {
                AddJobCondition(status, "SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods", now);
                AddJobCondition(status, "Complete", "CompletionsReached", "Reached expected number of succeeded pods", now);
                status["completionTime"] = now;
            }
            else if (failed > backoff)
            {
                AddJobCondition(status, "FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit", now);
                AddJobCondition(status, "Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit", now);
            }
        });
        if (updated is null)
        {
            return;
        }

        if (!finished && updated.Objects("status", "conditions").All(c => c.Str("type") is not ("Complete" or "Failed"))
            && active == 0 && succeeded < completions && failed <= backoff && !updated.Bool("spec", "suspend"))
        {
            CreateJobPodLocked(updated);
        }
        else if (updated.Objects("status", "conditions").Any(c => c.Str("type") == "Failed") && !finished)
        {
            RecordEventLocked(updated, "Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit", "job-controller");
        }
        else if (updated.Objects("status", "conditions").Any(c => c.Str("type") == "Complete") && !finished)
        {
            RecordEventLocked(updated, "Normal", "Completed", "Job completed", "job-controller");
        }
    }

    private static void SetCount(JsonObject status, string key, int value)
    {
        if (value > 0)
        {
            status[key] = value;
        }
        else
        {
            status.Remove(key);
        }
    }

    private static void AddJobCondition(JsonObject status, string type, string reason, string message, string now) =>
        status.Arr("conditions").Add(new JsonObject
        {
            ["type"] = type,
            ["status"] = "True",
            ["lastProbeTime"] = now,
            ["lastTransitionTime"] = now,
            ["reason"] = reason,
            ["message"] = message,
        });

    private void CreateJobPodLocked(JsonObject job)
    {
        var jobName = job.Str("metadata", "name")!;
        var ns = job.Str("metadata", "namespace")!;
        var template = job.At("spec", "template") as JsonObject ?? new JsonObject();
        var meta = (template["metadata"] as JsonObject)?.Clone() ?? new JsonObject();
        meta.Remove("name");
        meta["generateName"] = $"{jobName}-";
        meta["ownerReferences"] = new JsonArray(new JsonObject
        {
            ["apiVersion"] = "batch/v1",
            ["kind"] = "Job",
            ["name"] = jobName,
            ["uid"] = job.Str("metadata", "uid"),
            ["controller"] = true,
            ["blockOwnerDeletion"] = true,
        });
        var pod = new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = meta,
            ["spec"] = template["spec"]?.DeepClone() ?? new JsonObject(),
        };
        try
        {
            var created = CreateLocked(ResourceInfo.Pods, ns, pod);
            RecordEventLocked(job, "Normal", "SuccessfulCreate", $"Created pod: {created.Str("metadata", "name")}", "job-controller");
        }
        catch (KubeApiException e)
        {
            RecordEventLocked(job, "Warning", "FailedCreate", $"Error creating: {e.Message}", "job-controller");
        }
    }

    // ---- volumes -----------------------------------------------------------------------------------------------

    private void ReconcilePvcsLocked()
    {
        foreach (var pvc in _store[ResourceInfo.Pvcs].Values.Where(p => p.Str("status", "phase") == "Pending" && p.At("metadata", "deletionTimestamp") is null).ToList())
        {
            var ns = pvc.Str("metadata", "namespace")!;
            var source = (pvc.At("spec", "dataSourceRef") ?? pvc.At("spec", "dataSource")) as JsonObject;
            var storageClass = pvc.Str("spec", "storageClassName") ?? "standard";
            if (source is not null && source.Str("kind") == "VolumeSnapshot")
            {
                var snapName = source.Str("name") ?? "";
                var snap = Find(ResourceInfo.VolumeSnapshots, ns, snapName);
                string? problem = snap is null
                    ? $"error getting snapshot {snapName} from api server: volumesnapshots.snapshot.storage.k8s.io \"{snapName}\" not found"
                    : snap.Bool("status", "readyToUse") ? null : $"snapshot {snapName} is not Ready";
                if (problem is not null)
                {
                    RecordOnceLocked(pvc, "Warning", "ProvisioningFailed",
                        $"failed to provision volume with StorageClass \"{storageClass}\": error getting handle for DataSource Type VolumeSnapshot by Name {snapName}: {problem}");
                    continue;
                }
            }
            else if (source is not null && source.Str("kind") == "PersistentVolumeClaim")
            {
                var src = Find(ResourceInfo.Pvcs, ns, source.Str("name") ?? "");
                if (src?.Str("status", "phase") != "Bound")
                {
                    RecordOnceLocked(pvc, "Warning", "ProvisioningFailed",
                        $"failed to provision volume with StorageClass \"{storageClass}\": error getting handle for DataSource Type PersistentVolumeClaim by Name {source.Str("name")}: claim in dataSource not bound or invalid");
                    continue;
                }
            }

            var volume = $"pvc-{pvc.Str("metadata", "uid")}";
            var bound = UpdateLocked(ResourceInfo.Pvcs, pvc, p =>
            {
                p.Obj("spec")["volumeName"] = volume;
                var annotations = p.Obj("metadata").Obj("annotations");
                annotations["pv.kubernetes.io/bind-completed"] = "yes";
                annotations["pv.kubernetes.io/bound-by-controller"] = "yes";
                annotations["volume.kubernetes.io/storage-provisioner"] = "fake.csi.k8s.io";
                p["status"] = new JsonObject
                {
                    ["phase"] = "Bound",
                    ["accessModes"] = p.At("spec", "accessModes")?.DeepClone(),
                    ["capacity"] = new JsonObject { ["storage"] = p.Str("spec", "resources", "requests", "storage") },
                };
            });
            if (bound is not null)
            {
                RecordEventLocked(bound, "Normal", "ProvisioningSucceeded", $"Successfully provisioned volume {volume}", "fake.csi.k8s.io");
            }
        }
    }

    private void RecordOnceLocked(JsonObject involved, string type, string reason, string message)
    {
        if (!_eventNames.ContainsKey($"{involved.Str("metadata", "uid")}|{type}|{reason}|{message}"))
        {
            RecordEventLocked(involved, type, reason, message, "fake.csi.k8s.io");
        }
    }

    private void ReconcileSnapshotsLocked()
    {
        foreach (var snap in _store[ResourceInfo.VolumeSnapshots].Values.Where(s => !s.Bool("status", "readyToUse")).ToList())
        {
            var uid = snap.Str("metadata", "uid")!;
            if (_snapshotsInProgress.Contains(uid))
            {
                continue;
            }

            var ns = snap.Str("metadata", "namespace")!;
            var pvcName = snap.Str("spec", "source", "persistentVolumeClaimName");
            string? restoreSize = null;
            if (pvcName is not null)
            {
                var pvc = Find(ResourceInfo.Pvcs, ns, pvcName);
                if (pvc?.Str("status", "phase") != "Bound")
                {
                    var message = pvc is null
                        ? $"Failed to create snapshot: failed to get input parameters to create snapshot {snap.Str("metadata", "name")}: \"persistentvolumeclaim \\\"{pvcName}\\\" not found\""
                        : $"Failed to create snapshot: the PVC {pvcName} is not yet bound to a PV";
                    if (snap.Str("status", "error", "message") != message)
                    {
                        var now = Now();
                        UpdateLocked(ResourceInfo.VolumeSnapshots, snap, s =>
                            s["status"] = new JsonObject
                            {
                                ["readyToUse"] = false,
                                ["error"] = new JsonObject { ["message"] = message, ["time"] = now },
                            });
                    }

                    continue;
                }

                restoreSize = pvc.Str("status", "capacity", "storage");
            }

            _snapshotsInProgress.Add(uid);
            var content = $"snapcontent-{uid}";
            UpdateLocked(ResourceInfo.VolumeSnapshots, snap, s =>
                s["status"] = new JsonObject { ["readyToUse"] = false, ["boundVolumeSnapshotContentName"] = content });
            var name = snap.Str("metadata", "name")!;
            Track(async () =>
            {
                if (Options.StartDelay > TimeSpan.Zero)
                {
                    await Task.Delay(Options.StartDelay, Time, _stopping.Token).ConfigureAwait(false);
                }

                lock (_gate)
                {
                    var current = Find(ResourceInfo.VolumeSnapshots, ns, name);
                    if (current is null || current.Str("metadata", "uid") != uid)
                    {
                        return;
                    }

                    var now = Now();
                    UpdateLocked(ResourceInfo.VolumeSnapshots, current, s =>
                    {
                        var status = new JsonObject
                        {
                            ["boundVolumeSnapshotContentName"] = content,
                            ["creationTime"] = now,
                            ["readyToUse"] = true,
                        };
                        if (restoreSize is not null)
                        {
                            status["restoreSize"] = restoreSize;
                        }

                        s["status"] = status;
                    });
                }
            });
        }
    }
}

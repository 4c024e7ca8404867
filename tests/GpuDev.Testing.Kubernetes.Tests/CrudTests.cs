using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using static GpuDev.Testing.Kubernetes.Tests.TestSupport;

namespace GpuDev.Testing.Kubernetes.Tests;

public sealed class CrudTests
{
    [Fact]
    public async Task Create_get_list_delete_pod_round_trips_through_the_real_client()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();

        var created = await client.CoreV1.CreateNamespacedPodAsync(Pod("a"), Ns, cancellationToken: Ct);
        Assert.Equal("a", created.Metadata.Name);
        Assert.Equal(Ns, created.Metadata.NamespaceProperty);
        Assert.False(string.IsNullOrEmpty(created.Metadata.Uid));
        Assert.NotNull(created.Metadata.CreationTimestamp);
        Assert.Equal(1, created.Metadata.Generation);
        Assert.Equal("Pending", created.Status.Phase);

        var read = await client.CoreV1.ReadNamespacedPodAsync("a", Ns, cancellationToken: Ct);
        Assert.Equal(created.Metadata.Uid, read.Metadata.Uid);

        var list = await client.CoreV1.ListNamespacedPodAsync(Ns, cancellationToken: Ct);
        Assert.Single(list.Items);
        Assert.False(string.IsNullOrEmpty(list.Metadata.ResourceVersion));
        Assert.True(long.Parse(list.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture) >= long.Parse(created.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture));

        var deleted = await client.CoreV1.DeleteNamespacedPodAsync("a", Ns, cancellationToken: Ct);
        Assert.Equal("a", deleted.Metadata.Name);
        Assert.Empty((await client.CoreV1.ListNamespacedPodAsync(Ns, cancellationToken: Ct)).Items);
        Assert.True(server.RequestCount >= 5);
    }

    [Fact]
    public async Task Missing_objects_give_404_NotFound_and_duplicates_409_AlreadyExists()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();

        var notFound = await ExpectStatusAsync(HttpStatusCode.NotFound, () => client.CoreV1.ReadNamespacedPodAsync("nope", Ns, cancellationToken: Ct));
        Assert.Equal("NotFound", notFound.Reason);
        Assert.Equal("pods \"nope\" not found", notFound.Message);
        Assert.Equal("nope", notFound.Details.Name);
        Assert.Equal("pods", notFound.Details.Kind);

        await ExpectStatusAsync(HttpStatusCode.NotFound, () => client.CoreV1.DeleteNamespacedPodAsync("nope", Ns, cancellationToken: Ct));
        var jobMissing = await ExpectStatusAsync(HttpStatusCode.NotFound, () => client.BatchV1.ReadNamespacedJobAsync("nope", Ns, cancellationToken: Ct));
        Assert.Equal("jobs.batch \"nope\" not found", jobMissing.Message);

        await client.CoreV1.CreateNamespacedPodAsync(Pod("dup"), Ns, cancellationToken: Ct);
        var exists = await ExpectStatusAsync(HttpStatusCode.Conflict, () => client.CoreV1.CreateNamespacedPodAsync(Pod("dup"), Ns, cancellationToken: Ct));
        Assert.Equal("AlreadyExists", exists.Reason);

        var invalid = await ExpectStatusAsync(HttpStatusCode.UnprocessableEntity, () => client.CoreV1.CreateNamespacedPodAsync(Pod("Bad_Name"), Ns, cancellationToken: Ct));
        Assert.Equal("Invalid", invalid.Reason);
    }

    [Fact]
    public async Task GenerateName_gets_a_random_suffix()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        var pod = Pod("x");
        pod.Metadata.Name = null;
        pod.Metadata.GenerateName = "worker-";

        var a = await client.CoreV1.CreateNamespacedPodAsync(pod, Ns, cancellationToken: Ct);
        var b = await client.CoreV1.CreateNamespacedPodAsync(pod, Ns, cancellationToken: Ct);

        Assert.StartsWith("worker-", a.Metadata.Name, StringComparison.Ordinal);
        Assert.Equal("worker-".Length + 5, a.Metadata.Name.Length);
        Assert.NotEqual(a.Metadata.Name, b.Metadata.Name);
    }

    [Fact]
    public async Task Replace_with_a_stale_resourceVersion_is_409_Conflict()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        var cm = await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap
        {
            Metadata = new V1ObjectMeta { Name = "cfg" },
            Data = new Dictionary<string, string> { ["k"] = "1" },
        }, Ns, cancellationToken: Ct);

        cm.Data["k"] = "2";
        var replaced = await client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, "cfg", Ns, cancellationToken: Ct);
        Assert.Equal("2", replaced.Data["k"]);
        Assert.NotEqual(cm.Metadata.ResourceVersion, replaced.Metadata.ResourceVersion);
        Assert.Equal(cm.Metadata.Uid, replaced.Metadata.Uid);

        cm.Data["k"] = "3";
        var conflict = await ExpectStatusAsync(HttpStatusCode.Conflict, () => client.CoreV1.ReplaceNamespacedConfigMapAsync(cm, "cfg", Ns, cancellationToken: Ct));
        Assert.Equal("Conflict", conflict.Reason);
        Assert.Contains("the object has been modified", conflict.Message, StringComparison.Ordinal);

        var missing = new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "other" } };
        await ExpectStatusAsync(HttpStatusCode.NotFound, () => client.CoreV1.ReplaceNamespacedConfigMapAsync(missing, "other", Ns, cancellationToken: Ct));
    }

    [Fact]
    public async Task Merge_strategic_and_json_patches_apply()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        await client.CoreV1.CreateNamespacedPodAsync(Pod("p"), Ns, cancellationToken: Ct);

        var merge = new V1Patch("""{"metadata":{"labels":{"team":"ml","app":null}}}""", V1Patch.PatchType.MergePatch);
        var merged = await client.CoreV1.PatchNamespacedPodAsync(merge, "p", Ns, cancellationToken: Ct);
        Assert.Equal("ml", merged.Metadata.Labels["team"]);
        Assert.False(merged.Metadata.Labels.ContainsKey("app"));

        var strategic = new V1Patch("""{"metadata":{"annotations":{"a":"b"}}}""", V1Patch.PatchType.StrategicMergePatch);
        var patched = await client.CoreV1.PatchNamespacedPodAsync(strategic, "p", Ns, cancellationToken: Ct);
        Assert.Equal("b", patched.Metadata.Annotations["a"]);

        var json = new V1Patch("""[{"op":"add","path":"/metadata/labels/tier","value":"gold"},{"op":"replace","path":"/metadata/labels/team","value":"infra"}]""",
            V1Patch.PatchType.JsonPatch);
        var jsonPatched = await client.CoreV1.PatchNamespacedPodAsync(json, "p", Ns, cancellationToken: Ct);
        Assert.Equal("gold", jsonPatched.Metadata.Labels["tier"]);
        Assert.Equal("infra", jsonPatched.Metadata.Labels["team"]);

        var badTest = new V1Patch("""[{"op":"test","path":"/metadata/labels/tier","value":"silver"}]""", V1Patch.PatchType.JsonPatch);
        await ExpectStatusAsync(HttpStatusCode.UnprocessableEntity, () => client.CoreV1.PatchNamespacedPodAsync(badTest, "p", Ns, cancellationToken: Ct));

        var stale = new V1Patch("""{"metadata":{"resourceVersion":"1","labels":{"x":"y"}}}""", V1Patch.PatchType.MergePatch);
        await ExpectStatusAsync(HttpStatusCode.Conflict, () => client.CoreV1.PatchNamespacedPodAsync(stale, "p", Ns, cancellationToken: Ct));
    }

    [Fact]
    public async Task Label_selectors_support_equality_set_and_existence_requirements()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        await client.CoreV1.CreateNamespacedPodAsync(Pod("a", labels: new Dictionary<string, string> { ["env"] = "prod", ["tier"] = "gpu" }), Ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pod("b", labels: new Dictionary<string, string> { ["env"] = "dev" }), Ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pod("c", labels: new Dictionary<string, string> { ["env"] = "test", ["tier"] = "cpu" }), Ns, cancellationToken: Ct);

        async Task<string> Names(string selector) =>
            string.Join(",", (await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: Ct)).Items.Select(p => p.Metadata.Name));

        Assert.Equal("a", await Names("env=prod"));
        Assert.Equal("a", await Names("env==prod"));
        Assert.Equal("b,c", await Names("env!=prod"));
        Assert.Equal("a,b", await Names("env in (prod, dev)"));
        Assert.Equal("c", await Names("env notin (prod,dev)"));
        Assert.Equal("a,c", await Names("tier"));
        Assert.Equal("b", await Names("!tier"));
        Assert.Equal("c", await Names("tier,env!=prod"));
        Assert.Equal("", await Names("env=prod,tier=cpu"));

        var page1 = await client.CoreV1.ListNamespacedPodAsync(Ns, limit: 2, cancellationToken: Ct);
        Assert.Equal(["a", "b"], page1.Items.Select(p => p.Metadata.Name));
        Assert.Equal(1, page1.Metadata.RemainingItemCount);
        var page2 = await client.CoreV1.ListNamespacedPodAsync(Ns, limit: 2, continueParameter: page1.Metadata.ContinueProperty, cancellationToken: Ct);
        Assert.Equal(["c"], page2.Items.Select(p => p.Metadata.Name));
        Assert.Null(page2.Metadata.ContinueProperty);
        await ExpectStatusAsync(HttpStatusCode.BadRequest, () => client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "env in (a", cancellationToken: Ct));
    }

    [Fact]
    public async Task Field_selectors_and_lists_across_namespaces()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        server.AddNode("node-1", 8);
        var client = server.Client();
        await client.CoreV1.CreateNamespacedPodAsync(Pod("a"), Ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pod("b"), "other", cancellationToken: Ct);
        await client.WaitPodAsync("a", IsRunning, "running");

        var all = await client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: Ct);
        Assert.Equal(2, all.Items.Count);

        var byName = await client.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: "metadata.name=b", cancellationToken: Ct);
        Assert.Equal("other", Assert.Single(byName.Items).Metadata.NamespaceProperty);

        var byNs = await client.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: "metadata.namespace!=other", cancellationToken: Ct);
        Assert.Equal("a", Assert.Single(byNs.Items).Metadata.Name);

        await EventuallyAsync(() => client.CoreV1.ListPodForAllNamespacesAsync(fieldSelector: "spec.nodeName=node-1,status.phase=Running", cancellationToken: Ct),
            l => l.Items.Count == 2, "both pods running on node-1");

        var events = await client.CoreV1.ListNamespacedEventAsync(Ns, fieldSelector: "involvedObject.name=a,reason=Scheduled", cancellationToken: Ct);
        Assert.Single(events.Items);

        var status = await ExpectStatusAsync(HttpStatusCode.BadRequest, () => client.CoreV1.ListNamespacedPodAsync(Ns, fieldSelector: "spec.image=x", cancellationToken: Ct));
        Assert.Contains("field label not supported", status.Message, StringComparison.Ordinal);

        var namespaces = await client.CoreV1.ListNamespaceAsync(cancellationToken: Ct);
        Assert.Contains(namespaces.Items, n => n.Metadata.Name == "other");
        var implicitNs = await client.CoreV1.ReadNamespaceAsync("anything", cancellationToken: Ct);
        Assert.Equal("Active", implicitNs.Status.Phase);
    }

    [Fact]
    public async Task Secrets_delete_returns_a_success_status_and_deletecollection_uses_the_selector()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        foreach (var (name, owner) in new[] { ("s1", "alice"), ("s2", "alice"), ("s3", "bob") })
        {
            await client.CoreV1.CreateNamespacedSecretAsync(new V1Secret
            {
                Metadata = new V1ObjectMeta { Name = name, Labels = new Dictionary<string, string> { ["owner"] = owner } },
                StringData = new Dictionary<string, string> { ["token"] = "abc" },
            }, Ns, cancellationToken: Ct);
        }

        var secret = await client.CoreV1.ReadNamespacedSecretAsync("s1", Ns, cancellationToken: Ct);
        Assert.Equal("abc", System.Text.Encoding.UTF8.GetString(secret.Data["token"]));
        Assert.Equal("Opaque", secret.Type);

        var status = await client.CoreV1.DeleteNamespacedSecretAsync("s1", Ns, cancellationToken: Ct);
        Assert.Equal("Success", status.Status);
        Assert.Equal("s1", status.Details.Name);

        await client.CoreV1.DeleteCollectionNamespacedSecretAsync(Ns, labelSelector: "owner=alice", cancellationToken: Ct);
        var left = await client.CoreV1.ListNamespacedSecretAsync(Ns, cancellationToken: Ct);
        Assert.Equal("s3", Assert.Single(left.Items).Metadata.Name);
    }

    [Fact]
    public async Task Discovery_version_pod_log_and_kubeconfig_work()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var path = server.WriteKubeconfig(Path.Combine(Path.GetTempPath(), $"fake-kube-{Guid.NewGuid():N}", "config"));
        try
        {
            var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(path);
            Assert.Equal("fake-token", config.AccessToken);
            using var client = new k8s.Kubernetes(config);

            var version = await client.Version.GetCodeAsync(Ct);
            Assert.Equal("1", version.Major);

            var apis = await client.Apis.GetAPIVersionsAsync(Ct);
            Assert.Contains(apis.Groups, g => g.Name == "snapshot.storage.k8s.io");
            Assert.Contains(apis.Groups, g => g.Name == "networking.k8s.io");
            var core = await client.CoreV1.GetAPIResourcesAsync(Ct);
            Assert.Contains(core.Resources, r => r.Name == "pods/log");

            await client.CoreV1.CreateNamespacedPodAsync(Pod("logged"), Ns, cancellationToken: Ct);
            server.SetPodLog(Ns, "logged", "line 1\nline 2\nline 3\n");
            await using var stream = await client.CoreV1.ReadNamespacedPodLogAsync("logged", Ns, tailLines: 2, cancellationToken: Ct);
            using var reader = new StreamReader(stream);
            Assert.Equal("line 2\nline 3\n", await reader.ReadToEndAsync(Ct));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }

    [Fact]
    public async Task Server_side_Get_and_List_see_what_the_client_wrote()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        await client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "sa" } }, Ns, cancellationToken: Ct);
        var created = server.Create("configmaps", Ns, Obj("""{"metadata":{"name":"seeded"},"data":{"a":"b"}}"""));

        Assert.Equal("ServiceAccount", server.Get("serviceaccounts", Ns, "sa")!["kind"]!.GetValue<string>());
        Assert.Single(server.List("serviceaccounts"));
        var cm = await client.CoreV1.ReadNamespacedConfigMapAsync("seeded", Ns, cancellationToken: Ct);
        Assert.Equal("b", cm.Data["a"]);
        Assert.Equal(created["metadata"]!["uid"]!.GetValue<string>(), cm.Metadata.Uid);
        Assert.Null(server.Get("pods", Ns, "none"));
        Assert.True(server.Delete("configmaps", Ns, "seeded"));
        Assert.False(server.Delete("configmaps", Ns, "seeded"));
        _ = JsonNode.Parse("{}");
    }

    [Fact]
    public async Task Every_delete_the_provider_may_use_deserializes_in_the_client()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        server.AddNode("n1", 8);
        var client = server.Client();
        var meta = new V1ObjectMeta { Name = "x" };
        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = meta }, Ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = meta }, Ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(new V1PersistentVolumeClaim
        {
            Metadata = meta,
            Spec = new V1PersistentVolumeClaimSpec
            {
                AccessModes = ["ReadWriteOnce"],
                Resources = new V1VolumeResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["storage"] = new("1Gi") } },
            },
        }, Ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = "scratch" } }, cancellationToken: Ct);

        Assert.Equal("Success", (await client.CoreV1.DeleteNamespacedConfigMapAsync("x", Ns, cancellationToken: Ct)).Status);
        Assert.Equal("x", (await client.CoreV1.DeleteNamespacedServiceAccountAsync("x", Ns, cancellationToken: Ct)).Metadata.Name);
        Assert.Equal("x", (await client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync("x", Ns, cancellationToken: Ct)).Metadata.Name);
        Assert.Equal("Success", (await client.CoreV1.DeleteNamespaceAsync("scratch", cancellationToken: Ct)).Status);
        Assert.Equal("Success", (await client.CoreV1.DeleteNodeAsync("n1", cancellationToken: Ct)).Status);
        await client.CoreV1.DeleteCollectionNamespacedPodAsync(Ns, cancellationToken: Ct);
        await client.CoreV1.DeleteCollectionNamespacedEventAsync(Ns, cancellationToken: Ct);
    }

    [Fact]
    public async Task Running_pods_terminate_gracefully_and_finalizers_hold_deletion()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        server.AddNode("n1", 8);
        var gate = new TaskCompletionSource();
        server.OnPodDeleted = (_, ct) => gate.Task.WaitAsync(ct);
        var client = server.Client();
        await client.CoreV1.CreateNamespacedPodAsync(Pod("p"), Ns, cancellationToken: Ct);
        await client.WaitPodAsync("p", IsRunning, "running");

        var deleting = await client.CoreV1.DeleteNamespacedPodAsync("p", Ns, cancellationToken: Ct);
        Assert.NotNull(deleting.Metadata.DeletionTimestamp);
        Assert.Equal(30, deleting.Metadata.DeletionGracePeriodSeconds);
        Assert.NotNull((await client.CoreV1.ReadNamespacedPodAsync("p", Ns, cancellationToken: Ct)).Metadata.DeletionTimestamp);
        gate.SetResult();
        await EventuallyAsync(() => client.CoreV1.ListNamespacedPodAsync(Ns, cancellationToken: Ct), l => l.Items.Count == 0, "pod removed");

        await client.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = "held", Finalizers = ["example.com/keep"] } }, Ns, cancellationToken: Ct);
        await client.CoreV1.DeleteNamespacedConfigMapAsync("held", Ns, cancellationToken: Ct);
        var held = await client.CoreV1.ReadNamespacedConfigMapAsync("held", Ns, cancellationToken: Ct);
        Assert.NotNull(held.Metadata.DeletionTimestamp);
        await client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch), "held", Ns, cancellationToken: Ct);
        await ExpectStatusAsync(HttpStatusCode.NotFound, () => client.CoreV1.ReadNamespacedConfigMapAsync("held", Ns, cancellationToken: Ct));
    }

    [Fact]
    public async Task Pod_updates_follow_the_real_rules_and_quantities_compare_by_value()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        var pod = Pod("p");
        pod.Spec.Containers[0].Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["memory"] = new("2048Gi") } };
        await client.CoreV1.CreateNamespacedPodAsync(pod, Ns, cancellationToken: Ct);

        var current = await client.CoreV1.ReadNamespacedPodAsync("p", Ns, cancellationToken: Ct);
        current.Spec.Containers[0].Image = "ubuntu:25.04";
        current.Metadata.Labels["changed"] = "yes";
        var replaced = await client.CoreV1.ReplaceNamespacedPodAsync(current, "p", Ns, cancellationToken: Ct);
        Assert.Equal("ubuntu:25.04", replaced.Spec.Containers[0].Image);

        replaced.Spec.NodeSelector = new Dictionary<string, string> { ["x"] = "y" };
        var forbidden = await ExpectStatusAsync(HttpStatusCode.UnprocessableEntity, () => client.CoreV1.ReplaceNamespacedPodAsync(replaced, "p", Ns, cancellationToken: Ct));
        Assert.Contains("pod updates may not change fields", forbidden.Message, StringComparison.Ordinal);

        var patch = new V1Patch("""{"spec":{"restartPolicy":"Never"}}""", V1Patch.PatchType.MergePatch);
        await ExpectStatusAsync(HttpStatusCode.UnprocessableEntity, () => client.CoreV1.PatchNamespacedPodAsync(patch, "p", Ns, cancellationToken: Ct));
    }

    [Fact]
    public async Task Server_side_apply_creates_then_updates()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        var cm = new V1ConfigMap { ApiVersion = "v1", Kind = "ConfigMap", Metadata = new V1ObjectMeta { Name = "applied" }, Data = new Dictionary<string, string> { ["a"] = "1" } };

        var created = await client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch(cm, V1Patch.PatchType.ApplyPatch), "applied", Ns, fieldManager: "gpu-dev", force: true, cancellationToken: Ct);
        Assert.Equal("1", created.Data["a"]);
        cm.Data["a"] = "2";
        var updated = await client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch(cm, V1Patch.PatchType.ApplyPatch), "applied", Ns, fieldManager: "gpu-dev", force: true, cancellationToken: Ct);
        Assert.Equal("2", updated.Data["a"]);
        Assert.Equal(created.Metadata.Uid, updated.Metadata.Uid);

        await ExpectStatusAsync(HttpStatusCode.BadRequest,
            () => client.CoreV1.PatchNamespacedConfigMapAsync(new V1Patch(cm, V1Patch.PatchType.ApplyPatch), "applied", Ns, cancellationToken: Ct));
    }

    [Fact]
    public async Task Concurrent_writers_get_unique_increasing_resource_versions_and_a_watch_sees_every_create_once()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        var start = (await client.CoreV1.ListNamespacedConfigMapAsync(Ns, cancellationToken: Ct)).Metadata.ResourceVersion;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(20));
        var seen = new List<(string Name, long Rv)>();
        var watching = Task.Run(async () =>
        {
            await foreach (var (type, cm) in client.CoreV1.WatchListNamespacedConfigMapAsync(Ns, resourceVersion: start, cancellationToken: cts.Token))
            {
                Assert.Equal(WatchEventType.Added, type);
                seen.Add((cm.Metadata.Name, long.Parse(cm.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture)));
                if (seen.Count == 80)
                {
                    return;
                }
            }
        }, cts.Token);

        await Parallel.ForEachAsync(Enumerable.Range(0, 80), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cts.Token }, async (i, ct) =>
        {
            using var own = server.Client();
            await own.CoreV1.CreateNamespacedConfigMapAsync(new V1ConfigMap { Metadata = new V1ObjectMeta { Name = $"cm-{i}" } }, Ns, cancellationToken: ct);
        });
        await watching;

        Assert.Equal(80, seen.Select(s => s.Name).Distinct().Count());
        Assert.Equal(seen.Select(s => s.Rv).Order(), seen.Select(s => s.Rv));
        Assert.Equal(80, seen.Select(s => s.Rv).Distinct().Count());
    }

    [Fact]
    public async Task NetworkPolicies_are_created_listed_by_label_and_deleted()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        var policy = new V1NetworkPolicy
        {
            Metadata = new V1ObjectMeta { Name = "np", Labels = new Dictionary<string, string> { ["app"] = "x" } },
            Spec = new V1NetworkPolicySpec { PodSelector = new V1LabelSelector(), PolicyTypes = ["Ingress", "Egress"] },
        };

        await client.NetworkingV1.CreateNamespacedNetworkPolicyAsync(policy, Ns, cancellationToken: Ct);
        var again = await Assert.ThrowsAsync<k8s.Autorest.HttpOperationException>(() => client.NetworkingV1.CreateNamespacedNetworkPolicyAsync(policy, Ns, cancellationToken: Ct));
        var listed = await client.NetworkingV1.ListNamespacedNetworkPolicyAsync(Ns, labelSelector: "app=x", cancellationToken: Ct);
        await client.NetworkingV1.DeleteNamespacedNetworkPolicyAsync("np", Ns, cancellationToken: Ct);

        Assert.Equal(System.Net.HttpStatusCode.Conflict, again.Response.StatusCode);
        Assert.Equal(["Ingress", "Egress"], Assert.Single(listed.Items).Spec.PolicyTypes);
        Assert.Empty((await client.NetworkingV1.ListNamespacedNetworkPolicyAsync(Ns, cancellationToken: Ct)).Items);
    }
}

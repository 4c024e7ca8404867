using k8s;
using k8s.Autorest;
using k8s.Models;
using static GpuDev.Testing.Kubernetes.Tests.TestSupport;

namespace GpuDev.Testing.Kubernetes.Tests;

public sealed class WatchTests
{
    [Fact]
    public async Task Watch_delivers_added_modified_deleted_in_order()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        var list = await client.CoreV1.ListNamespacedPodAsync(Ns, cancellationToken: Ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var errors = new List<Exception>();
        var events = client.WatchPods(list.Metadata.ResourceVersion, errors, cts.Token);

        await client.CoreV1.CreateNamespacedPodAsync(Pod("w"), Ns, cancellationToken: Ct);
        await client.CoreV1.PatchNamespacedPodAsync(new V1Patch("""{"metadata":{"labels":{"x":"1"}}}""", V1Patch.PatchType.MergePatch), "w", Ns, cancellationToken: Ct);
        await client.CoreV1.DeleteNamespacedPodAsync("w", Ns, cancellationToken: Ct);

        // Between ADDED and DELETED come MODIFIED events: ours, and the scheduler's (no node: Unschedulable).
        var added = await events.NextAsync();
        Assert.Equal(WatchEventType.Added, added.Type);
        Assert.Equal("w", added.Pod.Metadata.Name);
        var seen = new List<(WatchEventType Type, V1Pod Pod)>();
        do
        {
            seen.Add(await events.NextAsync());
        }
        while (seen[^1].Type != WatchEventType.Deleted);

        Assert.All(seen[..^1], e => Assert.Equal(WatchEventType.Modified, e.Type));
        Assert.Contains(seen, e => e.Pod.Metadata.Labels is { } l && l.TryGetValue("x", out var x) && x == "1");
        var versions = seen.Select(e => long.Parse(e.Pod.Metadata.ResourceVersion, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(versions.Order(), versions);
        Assert.Empty(errors);
        await cts.CancelAsync();
    }

    [Fact]
    public async Task Watch_resumes_from_a_resourceVersion_and_without_one_starts_with_the_current_objects()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        var first = await client.CoreV1.CreateNamespacedPodAsync(Pod("one"), Ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pod("two"), Ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pod("three"), Ns, cancellationToken: Ct);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var errors = new List<Exception>();

        var resumed = client.WatchPods(first.Metadata.ResourceVersion, errors, cts.Token);
        var added = new List<string>();
        while (added.Count < 2)
        {
            var e = await resumed.NextAsync();
            if (e.Type == WatchEventType.Added)
            {
                added.Add(e.Pod.Metadata.Name);
            }
        }

        Assert.Equal(["two", "three"], added);

        var fresh = client.WatchPods(null, errors, cts.Token);
        var names = new[] { (await fresh.NextAsync()).Pod.Metadata.Name, (await fresh.NextAsync()).Pod.Metadata.Name, (await fresh.NextAsync()).Pod.Metadata.Name };
        Assert.Equal(["one", "three", "two"], names);
        Assert.Empty(errors);
        await cts.CancelAsync();
    }

    [Fact]
    public async Task Watch_from_a_compacted_resourceVersion_gets_an_error_event_with_410()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        var pod = await client.CoreV1.CreateNamespacedPodAsync(Pod("old"), Ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pod("newer"), Ns, cancellationToken: Ct);
        server.CompactWatchHistory();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var errors = new List<Exception>();

        var events = client.WatchPods(pod.Metadata.ResourceVersion, errors, cts.Token);
        await foreach (var _ in events.Reader.ReadAllAsync(Ct))
        {
            Assert.Fail("no event expected");
        }

        var error = Assert.IsType<KubernetesException>(Assert.Single(errors));
        Assert.Equal(410, error.Status.Code);
        Assert.Equal("Expired", error.Status.Reason);
        Assert.StartsWith("too old resource version", error.Status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_with_a_label_selector_sees_objects_enter_and_leave_the_selection()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        var client = server.Client();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var errors = new List<Exception>();
        var rv = (await client.CoreV1.ListNamespacedPodAsync(Ns, cancellationToken: Ct)).Metadata.ResourceVersion;
        var events = client.WatchPods(rv, errors, cts.Token, labelSelector: "watched=yes");

        await client.CoreV1.CreateNamespacedPodAsync(Pod("ignored"), Ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pod("p", labels: new Dictionary<string, string> { ["watched"] = "no" }), Ns, cancellationToken: Ct);
        await client.CoreV1.PatchNamespacedPodAsync(new V1Patch("""{"metadata":{"labels":{"watched":"yes"}}}""", V1Patch.PatchType.MergePatch), "p", Ns, cancellationToken: Ct);
        await client.CoreV1.PatchNamespacedPodAsync(new V1Patch("""{"metadata":{"labels":{"watched":"no"}}}""", V1Patch.PatchType.MergePatch), "p", Ns, cancellationToken: Ct);

        var entered = await events.NextAsync();
        Assert.Equal((WatchEventType.Added, "p"), (entered.Type, entered.Pod.Metadata.Name));
        // While it is selected the fake's scheduler and kubelet may update it (binding, status): those are Modified events.
        var left = await events.NextAsync();
        while (left.Type == WatchEventType.Modified)
        {
            left = await events.NextAsync();
        }

        Assert.Equal((WatchEventType.Deleted, "p"), (left.Type, left.Pod.Metadata.Name));
        await cts.CancelAsync();
    }

    [Fact]
    public async Task Watch_ends_at_timeoutSeconds_and_when_the_server_is_disposed()
    {
        var server = await FakeKubernetesServer.StartAsync(new FakeClusterOptions { BookmarkInterval = TimeSpan.FromMilliseconds(200) }, Ct);
        var client = server.Client();
        var started = DateTime.UtcNow;
        var bookmarks = 0;
        await foreach (var (type, pod) in client.CoreV1.WatchListNamespacedPodAsync(Ns, allowWatchBookmarks: true, timeoutSeconds: 1, cancellationToken: Ct))
        {
            Assert.Equal(WatchEventType.Bookmark, type);
            Assert.False(string.IsNullOrEmpty(pod.Metadata.ResourceVersion));
            bookmarks++;
        }

        Assert.InRange(bookmarks, 1, 10);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(8));

        var errors = new List<Exception>();
        var events = client.WatchPods(null, errors, Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pod("x"), Ns, cancellationToken: Ct);
        Assert.Equal(WatchEventType.Added, (await events.NextAsync()).Type);
        var disposing = server.DisposeAsync().AsTask();
        await disposing.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        using var drain = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        drain.CancelAfter(TimeSpan.FromSeconds(10));
        await foreach (var _ in events.Reader.ReadAllAsync(drain.Token))
        {
            // Events sent before the server stopped (e.g. the scheduler's MODIFIED); the stream must then end.
        }
    }

    [Fact]
    public async Task Watch_on_jobs_and_the_old_watch_path_work_too()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        server.AddNode("n", 0);
        var client = server.Client();
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(10));
        using var response = await http.GetAsync($"api/v1/watch/namespaces/{Ns}/pods", HttpCompletionOption.ResponseHeadersRead, cts.Token);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        await client.CoreV1.CreateNamespacedPodAsync(Pod("raw"), Ns, cancellationToken: Ct);
        var line = await reader.ReadLineAsync(cts.Token);
        Assert.StartsWith("{\"type\":\"ADDED\",\"object\":{", line, StringComparison.Ordinal);
        Assert.Contains("\"kind\":\"Pod\"", line, StringComparison.Ordinal);
    }
}

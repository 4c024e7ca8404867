using Microsoft.Extensions.Time.Testing;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using static GpuDev.Testing.Kubernetes.Tests.TestSupport;

namespace GpuDev.Testing.Kubernetes.Tests;

public sealed class JobAndKubeletTests
{
    private static V1Job Job(string name, string image = "busybox:1.36", int backoffLimit = 0) => new()
    {
        Metadata = new V1ObjectMeta { Name = name },
        Spec = new V1JobSpec
        {
            BackoffLimit = backoffLimit,
            Template = new V1PodTemplateSpec
            {
                Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string> { ["purpose"] = "snapshot" } },
                Spec = new V1PodSpec { RestartPolicy = "Never", Containers = [new V1Container { Name = "work", Image = image }] },
            },
        },
    };

    private static Task<V1Job> WaitJobAsync(k8s.Kubernetes client, string name, Func<V1Job, bool> condition, string what) =>
        EventuallyAsync(() => client.BatchV1.ReadNamespacedJobAsync(name, Ns, cancellationToken: Ct), condition, $"job {name} {what}");

    [Fact]
    public async Task A_job_runs_one_pod_and_succeeds()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        server.AddNode("n", 8);
        var client = server.Client();
        await client.BatchV1.CreateNamespacedJobAsync(Job("ok"), Ns, cancellationToken: Ct);

        var job = await WaitJobAsync(client, "ok", j => j.Status?.Succeeded == 1, "succeeded");
        Assert.Contains(job.Status.Conditions, c => c.Type == "Complete" && c.Status == "True");
        Assert.NotNull(job.Status.CompletionTime);
        Assert.Null(job.Status.Active);

        var pods = await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "job-name=ok", cancellationToken: Ct);
        var pod = Assert.Single(pods.Items);
        Assert.Equal("Succeeded", pod.Status.Phase);
        Assert.Equal("snapshot", pod.Metadata.Labels["purpose"]);
        Assert.Equal(0, pod.Status.ContainerStatuses[0].State.Terminated.ExitCode);
        var owner = Assert.Single(pod.Metadata.OwnerReferences);
        Assert.Equal(("Job", "ok", job.Metadata.Uid), (owner.Kind, owner.Name, owner.Uid));

        // Background propagation deletes the job's pods (the default for batch/v1 Jobs orphans them, as on a real cluster).
        await client.BatchV1.DeleteNamespacedJobAsync("ok", Ns, propagationPolicy: "Background", cancellationToken: Ct);
        await EventuallyAsync(() => client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "job-name=ok", cancellationToken: Ct),
            l => l.Items.Count == 0, "job pods deleted");
    }

    [Fact]
    public async Task A_job_with_a_termination_message_ends_its_container_with_it()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        server.AddNode("n", 8);
        var client = server.Client();
        server.SetJobTerminationMessage(Ns, "digest", "sha256:" + new string('c', 64));
        await client.BatchV1.CreateNamespacedJobAsync(Job("digest"), Ns, cancellationToken: Ct);

        await WaitJobAsync(client, "digest", j => j.Status?.Succeeded == 1, "succeeded");

        var pod = Assert.Single((await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "job-name=digest", cancellationToken: Ct)).Items);
        Assert.Equal("sha256:" + new string('c', 64), pod.Status.ContainerStatuses[0].State.Terminated.Message);
    }

    [Fact]
    public async Task A_failed_job_reports_failure_and_default_delete_orphans_its_pods()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        server.AddNode("n", 8);
        var client = server.Client();
        server.FailJob(Ns, "bad", "disk full");
        await client.BatchV1.CreateNamespacedJobAsync(Job("bad", backoffLimit: 1), Ns, cancellationToken: Ct);

        var job = await WaitJobAsync(client, "bad", j => j.Status?.Conditions?.Any(c => c.Type == "Failed") == true, "failed");
        Assert.Equal(2, job.Status.Failed);
        Assert.Equal("BackoffLimitExceeded", job.Status.Conditions.Single(c => c.Type == "Failed").Reason);
        var pods = await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "job-name=bad", cancellationToken: Ct);
        Assert.Equal(2, pods.Items.Count);
        Assert.All(pods.Items, p => Assert.Equal("disk full", p.Status.ContainerStatuses[0].State.Terminated.Message));

        await client.BatchV1.DeleteNamespacedJobAsync("bad", Ns, cancellationToken: Ct);
        pods = await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "job-name=bad", cancellationToken: Ct);
        Assert.Equal(2, pods.Items.Count);
        Assert.All(pods.Items, p => Assert.Null(p.Metadata.OwnerReferences));
    }

    [Fact]
    public async Task A_missing_image_leaves_the_pod_pending_in_ImagePullBackOff_with_events()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        server.AddNode("n", 8);
        var client = server.Client();
        await client.BatchV1.CreateNamespacedJobAsync(Job("pull", image: "registry.example/does-not-exist:1"), Ns, cancellationToken: Ct);

        var pod = await EventuallyAsync(async () => (await client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: "job-name=pull", cancellationToken: Ct)).Items.SingleOrDefault(),
            p => p?.Status?.ContainerStatuses?[0].State?.Waiting?.Reason == "ImagePullBackOff", "image pull backoff");
        Assert.Equal("Pending", pod!.Status.Phase);
        Assert.Contains("does-not-exist", pod.Status.ContainerStatuses[0].State.Waiting.Message, StringComparison.Ordinal);
        var events = await client.CoreV1.ListNamespacedEventAsync(Ns, fieldSelector: $"involvedObject.name={pod.Metadata.Name},type=Warning", cancellationToken: Ct);
        Assert.Contains(events.Items, e => e.Reason == "Failed" && e.Message.StartsWith("Failed to pull image", StringComparison.Ordinal));
        Assert.Equal(1, (await client.BatchV1.ReadNamespacedJobAsync("pull", Ns, cancellationToken: Ct)).Status.Active);
    }

    [Fact]
    public async Task EvictPod_and_RemoveNode_fail_pods_and_free_capacity()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        server.AddNode("n1", 8);
        var client = server.Client();
        await client.CoreV1.CreateNamespacedPodAsync(Pod("victim", gpus: 8), Ns, cancellationToken: Ct);
        await client.WaitPodAsync("victim", IsRunning, "running");

        server.EvictPod(Ns, "victim");
        var evicted = await client.CoreV1.ReadNamespacedPodAsync("victim", Ns, cancellationToken: Ct);
        Assert.Equal("Failed", evicted.Status.Phase);
        Assert.Equal("Evicted", evicted.Status.Reason);
        Assert.Equal("The node was low on resource: memory.", evicted.Status.Message);
        Assert.Contains(evicted.Status.Conditions, c => c.Type == "DisruptionTarget" && c.Status == "True");
        var events = await client.CoreV1.ListNamespacedEventAsync(Ns, fieldSelector: "involvedObject.name=victim,reason=Evicted", cancellationToken: Ct);
        Assert.Single(events.Items);

        // A failed pod no longer holds GPUs.
        await client.CoreV1.CreateNamespacedPodAsync(Pod("next", gpus: 8), Ns, cancellationToken: Ct);
        await client.WaitPodAsync("next", IsRunning, "running");

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(10));
        var nodeEvents = client.CoreV1.WatchListNodeAsync(cancellationToken: cts.Token).GetAsyncEnumerator(cts.Token);
        Assert.True(await nodeEvents.MoveNextAsync());
        Assert.Equal(WatchEventType.Added, nodeEvents.Current.Item1);
        server.RemoveNode("n1");
        Assert.True(await nodeEvents.MoveNextAsync());
        Assert.Equal((WatchEventType.Deleted, "n1"), (nodeEvents.Current.Item1, nodeEvents.Current.Item2.Metadata.Name));
        await nodeEvents.DisposeAsync();

        var lost = await client.CoreV1.ReadNamespacedPodAsync("next", Ns, cancellationToken: Ct);
        Assert.Equal("Failed", lost.Status.Phase);
        Assert.Equal("NodeLost", lost.Status.Reason);
        Assert.Empty((await client.CoreV1.ListNodeAsync(cancellationToken: Ct)).Items);
    }

    [Fact]
    public async Task OnPodStarting_sees_the_bound_pod_and_can_fail_it_and_OnPodDeleted_runs_before_DELETED()
    {
        await using var server = await FakeKubernetesServer.StartAsync(ct: Ct);
        server.AddNode("n1", 8);
        var started = new List<(string Pod, string Node, string? HostIp)>();
        var deleted = new List<string>();
        server.OnPodStarting = (ctx, _) =>
        {
            lock (started)
            {
                started.Add((ctx.Name, ctx.Node.Name, ctx.Pod["status"]?["hostIP"]?.GetValue<string>()));
            }

            return ctx.Name == "broken" ? throw new InvalidOperationException("sshd did not start") : Task.CompletedTask;
        };
        server.OnPodDeleted = (pod, _) =>
        {
            lock (deleted)
            {
                deleted.Add(pod["metadata"]!["name"]!.GetValue<string>());
            }

            return Task.CompletedTask;
        };
        var client = server.Client();

        await client.CoreV1.CreateNamespacedPodAsync(Pod("good", gpus: 1), Ns, cancellationToken: Ct);
        await client.CoreV1.CreateNamespacedPodAsync(Pod("broken", gpus: 1), Ns, cancellationToken: Ct);
        await client.WaitPodAsync("good", IsRunning, "running");
        var broken = await client.WaitPodAsync("broken", p => p.Status?.Phase == "Failed", "failed");
        Assert.Equal("sshd did not start", broken.Status.Message);
        lock (started)
        {
            Assert.Contains(("good", "n1", "127.0.0.1"), started);
        }

        await client.CoreV1.DeleteNamespacedPodAsync("good", Ns, cancellationToken: Ct);
        await EventuallyAsync(() => client.CoreV1.ListNamespacedPodAsync(Ns, fieldSelector: "metadata.name=good", cancellationToken: Ct), l => l.Items.Count == 0, "pod gone");
        lock (deleted)
        {
            Assert.Equal(["good"], deleted);
        }
    }

    [Fact]
    public async Task StartDelay_keeps_bound_pods_pending_until_it_has_passed_on_the_given_clock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var server = await FakeKubernetesServer.StartAsync(new FakeClusterOptions { StartDelay = TimeSpan.FromMinutes(1), TimeProvider = clock }, Ct);
        server.AddNode("n1", 8);
        var client = server.Client();
        await client.CoreV1.CreateNamespacedPodAsync(Pod("slow"), Ns, cancellationToken: Ct);

        var bound = await client.WaitPodAsync("slow", p => p.Status?.PodIP is not null, "started by the kubelet");
        Assert.Equal("Pending", bound.Status.Phase);
        Assert.Equal(new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc), bound.Metadata.CreationTimestamp);
        Assert.Equal("Pending", (await client.CoreV1.ReadNamespacedPodAsync("slow", Ns, cancellationToken: Ct)).Status.Phase);

        var running = await EventuallyAsync(async () =>
        {
            clock.Advance(TimeSpan.FromMinutes(1));
            return await client.CoreV1.ReadNamespacedPodAsync("slow", Ns, cancellationToken: Ct);
        }, IsRunning, "running once the clock moved");
        Assert.True(running.Status.StartTime >= new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        _ = new JsonObject();
    }
}

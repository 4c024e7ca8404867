using System.Net;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace GpuDev.Testing.Kubernetes.Tests;

internal static class TestSupport
{
    public const string Ns = "gpu-dev";

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static k8s.Kubernetes Client(this FakeKubernetesServer server) => new(server.ClientConfiguration);

    public static V1Pod Pod(string name, int gpus = 0, string image = "ubuntu:24.04", IDictionary<string, string>? labels = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, Labels = labels ?? new Dictionary<string, string> { ["app"] = "gpu-dev" } },
        Spec = new V1PodSpec
        {
            Containers =
            [
                new V1Container
                {
                    Name = "main",
                    Image = image,
                    Resources = gpus == 0
                        ? null
                        : new V1ResourceRequirements { Limits = new Dictionary<string, ResourceQuantity> { ["nvidia.com/gpu"] = new(gpus.ToString(System.Globalization.CultureInfo.InvariantCulture)) } },
                },
            ],
        },
    };

    /// <summary>Runs the call, expects an API error with that HTTP status, and returns the V1Status body.</summary>
    public static async Task<V1Status> ExpectStatusAsync(HttpStatusCode code, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<HttpOperationException>(call);
        Assert.Equal(code, e.Response.StatusCode);
        var status = KubernetesJson.Deserialize<V1Status>(e.Response.Content);
        Assert.Equal("Status", status.Kind);
        Assert.Equal("Failure", status.Status);
        Assert.Equal((int)code, status.Code);
        return status;
    }

    /// <summary>Polls every 20 ms until the condition holds, for at most 10 s.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        var last = await read();
        while (!condition(last))
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for {what}; last value: {KubernetesJson.Serialize(last)}");
            }

            await Task.Delay(20, Ct);
            last = await read();
        }

        return last;
    }

    public static Task<V1Pod> WaitPodAsync(this k8s.Kubernetes client, string name, Func<V1Pod, bool> condition, string what) =>
        EventuallyAsync(() => client.CoreV1.ReadNamespacedPodAsync(name, Ns, cancellationToken: Ct), condition, $"pod {name} {what}");

    public static bool IsRunning(V1Pod p) => p.Status?.Phase == "Running";

    /// <summary>Starts a watch on pods and funnels its events into a channel (errors too).</summary>
    public static Channel<(WatchEventType Type, V1Pod Pod)> WatchPods(this k8s.Kubernetes client, string? resourceVersion, List<Exception> errors,
        CancellationToken ct, string? labelSelector = null)
    {
        var channel = Channel.CreateUnbounded<(WatchEventType, V1Pod)>();
        _ = Task.Run(async () =>
        {
            try
            {
                var events = client.CoreV1.WatchListNamespacedPodAsync(Ns, allowWatchBookmarks: true, labelSelector: labelSelector,
                    resourceVersion: resourceVersion, onError: e => { lock (errors) { errors.Add(e); } }, cancellationToken: ct);
                await foreach (var item in events)
                {
                    await channel.Writer.WriteAsync(item, ct);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or HttpRequestException or IOException)
            {
                // Watch ended.
            }
            finally
            {
                channel.Writer.TryComplete();
            }
        }, ct);
        return channel;
    }

    public static async Task<(WatchEventType Type, V1Pod Pod)> NextAsync(this Channel<(WatchEventType Type, V1Pod Pod)> channel)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        cts.CancelAfter(TimeSpan.FromSeconds(10));
        while (true)
        {
            var item = await channel.Reader.ReadAsync(cts.Token);
            if (item.Type != WatchEventType.Bookmark)
            {
                return item;
            }
        }
    }

    public static JsonObject Obj(string json) => (JsonObject)JsonNode.Parse(json)!;
}

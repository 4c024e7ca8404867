using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDev.Testing.Kubernetes;

/// <summary>
/// An in-process Kubernetes API server on loopback that speaks the real wire protocol (JSON, watch streams,
/// <c>v1 Status</c> errors) and simulates a scheduler, kubelets and a few controllers.
/// </summary>
public sealed partial class FakeKubernetesServer : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ResourceInfo, SortedDictionary<string, JsonObject>> _store = [];
    private readonly Queue<StoredEvent> _history = new();
    private readonly List<WatchSubscription> _watchers = [];
    private readonly Channel<StoredEvent> _controllerQueue = Channel.CreateUnbounded<StoredEvent>(new() { SingleReader = true });
    private readonly ConcurrentDictionary<Task, byte> _background = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<string, string> _podLogs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _failingJobs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _jobMessages = new(StringComparer.Ordinal);
    private readonly ILogger _logger;
    private WebApplication? _app;
    private Task? _controllerLoop;
    private long _resourceVersion = 100;
    private long _historyFloor;
    private int _requestCount;
    private int _disposed;

    private FakeKubernetesServer(FakeClusterOptions options)
    {
        Options = options;
        Time = options.TimeProvider;
        _logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<FakeKubernetesServer>();
        foreach (var r in ResourceInfo.All)
        {
            _store[r] = new SortedDictionary<string, JsonObject>(StringComparer.Ordinal);
        }
    }

    public FakeClusterOptions Options { get; }

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1/");

    /// <summary>A client configuration for this server: <c>Host</c> = <see cref="BaseAddress"/>, no authentication.</summary>
    public KubernetesClientConfiguration ClientConfiguration => new() { Host = BaseAddress.ToString().TrimEnd('/') };

    /// <summary>Every HTTP request served so far.</summary>
    public int RequestCount => Volatile.Read(ref _requestCount);

    /// <summary>Awaited after a pod is bound and before it is marked Running; an exception fails the pod.</summary>
    public Func<PodStartContext, CancellationToken, Task>? OnPodStarting { get; set; }

    /// <summary>Awaited when a pod is deleted (before its DELETED event when it was running on a node).</summary>
    public Func<JsonObject, CancellationToken, Task>? OnPodDeleted { get; set; }

    /// <summary>The current (latest) resourceVersion.</summary>
    public long CurrentResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _resourceVersion;
            }
        }
    }

    internal TimeProvider Time { get; }

    public static async Task<FakeKubernetesServer> StartAsync(FakeClusterOptions? options = null, CancellationToken ct = default)
    {
        var server = new FakeKubernetesServer(options ?? new FakeClusterOptions());
        await server.StartCoreAsync(ct).ConfigureAwait(false);
        return server;
    }

    private async Task StartCoreAsync(CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (Options.LoggerFactory is { } loggerFactory)
        {
            builder.Services.AddSingleton(loggerFactory);
        }

        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.AllowSynchronousIO = false;
        });
        builder.WebHost.UseShutdownTimeout(TimeSpan.FromSeconds(2));
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync(ct).ConfigureAwait(false);
        _app = app;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        _controllerLoop = Task.Run(() => ControllerLoopAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>Writes a kubeconfig (current-context, cluster server = <see cref="BaseAddress"/>, a user with a token) and returns <paramref name="path"/>.</summary>
    public string WriteKubeconfig(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        var server = BaseAddress.ToString().TrimEnd('/');
        var text = new StringBuilder()
            .AppendLine("apiVersion: v1")
            .AppendLine("kind: Config")
            .AppendLine("clusters:")
            .AppendLine("- name: fake")
            .AppendLine("  cluster:")
            .AppendLine(CultureInfo.InvariantCulture, $"    server: {server}")
            .AppendLine("contexts:")
            .AppendLine("- name: fake")
            .AppendLine("  context:")
            .AppendLine("    cluster: fake")
            .AppendLine("    user: fake-user")
            .AppendLine("    namespace: default")
            .AppendLine("current-context: fake")
            .AppendLine("preferences: {}")
            .AppendLine("users:")
            .AppendLine("- name: fake-user")
            .AppendLine("  user:")
            .AppendLine("    token: fake-token")
            .ToString();
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>A copy of one object, or null. <paramref name="resource"/> is the plural (pods, jobs, volumesnapshots...).</summary>
    public JsonObject? Get(string resource, string? ns, string name)
    {
        var r = Resource(resource);
        lock (_gate)
        {
            return Find(r, ns, name)?.Clone();
        }
    }

    /// <summary>Copies of all objects of a kind, in one namespace or (null) all.</summary>
    public IReadOnlyList<JsonObject> List(string resource, string? ns = null)
    {
        var r = Resource(resource);
        lock (_gate)
        {
            return Items(r, ns).Select(o => o.Clone()).ToList();
        }
    }

    /// <summary>Creates an object directly (as if through the API; controllers react). Returns the stored copy.</summary>
    public JsonObject Create(string resource, string? ns, JsonObject obj)
    {
        var r = Resource(resource);
        JsonObject created;
        lock (_gate)
        {
            created = CreateLocked(r, r.Namespaced ? ns ?? "default" : "", obj.Clone());
        }

        return created.Clone();
    }

    /// <summary>Deletes an object directly (as an API DELETE with default options). False when it did not exist.</summary>
    public bool Delete(string resource, string? ns, string name)
    {
        var r = Resource(resource);
        try
        {
            DeleteObject(r, r.Namespaced ? ns ?? "default" : "", name, null, null);
            return true;
        }
        catch (KubeApiException e) when (e.Code == 404)
        {
            return false;
        }
    }

    /// <summary>The text that <c>GET .../pods/{name}/log</c> returns for this pod (default empty).</summary>
    public void SetPodLog(string ns, string name, string text)
    {
        lock (_gate)
        {
            _podLogs[$"{ns}/{name}"] = text;
        }
    }

    /// <summary>The termination message the Job's pods' containers end with when they succeed (e.g. the image digest
    /// Kaniko writes with <c>--digest-file=/dev/termination-log</c>); set it before the pods start.</summary>
    public void SetJobTerminationMessage(string ns, string name, string message)
    {
        lock (_gate)
        {
            _jobMessages[$"{ns}/{name}"] = message;
        }
    }

    /// <summary>Makes the Job's pods fail (now if running, else when they start) with this message.</summary>
    public void FailJob(string ns, string name, string message)
    {
        lock (_gate)
        {
            _failingJobs[$"{ns}/{name}"] = message;
            var job = Find(ResourceInfo.Jobs, ns, name);
            if (job is null)
            {
                return;
            }

            foreach (var pod in OwnedBy(job).Where(p => p.Str("status", "phase") == "Running").ToList())
            {
                TerminatePodLocked(pod, "Failed", null, message, 1, "Error");
            }
        }
    }

    /// <summary>When true, Job pods keep running once started (the build a test does itself) until
    /// <see cref="CompleteJob"/>; when false (default) they succeed as soon as they start.</summary>
    public bool HoldJobs { get; set; }

    /// <summary>Makes the Job's running pods succeed with this termination message (e.g. the digest the test pushed).</summary>
    public void CompleteJob(string ns, string name, string message)
    {
        lock (_gate)
        {
            _jobMessages[$"{ns}/{name}"] = message;
            var job = Find(ResourceInfo.Jobs, ns, name) ?? throw new InvalidOperationException($"no job {ns}/{name}");
            foreach (var pod in OwnedBy(job).Where(p => p.Str("status", "phase") == "Running").ToList())
            {
                TerminatePodLocked(pod, "Succeeded", null, null, 0, "Completed", message);
            }
        }
    }

    /// <summary>Forgets all watch history, so that a watch from any earlier resourceVersion gets 410 Expired.</summary>
    public void CompactWatchHistory()
    {
        lock (_gate)
        {
            _history.Clear();
            _historyFloor = _resourceVersion;
        }
    }

    /// <summary>Polls (every 20 ms, up to <paramref name="timeout"/>, default 10 s) until the object exists and matches.</summary>
    public async Task<JsonObject> WaitForAsync(string resource, string? ns, string name, Func<JsonObject, bool> predicate,
        TimeSpan? timeout = null, CancellationToken ct = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout ?? TimeSpan.FromSeconds(10));
        JsonObject? last = null;
        try
        {
            while (true)
            {
                last = Get(resource, ns, name);
                if (last is not null && predicate(last))
                {
                    return last;
                }

                await Task.Delay(20, cts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"{resource} {ns}/{name} did not reach the expected state; last: {last?.ToJsonString() ?? "(absent)"}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var w in _watchers)
            {
                w.Channel.Writer.TryComplete();
            }

            _watchers.Clear();
        }

        _controllerQueue.Writer.TryComplete();
        if (_app is not null)
        {
            using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _app.StopAsync(stopTimeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Kestrel gave up waiting for connections; it is closed either way.
            }

            await _app.DisposeAsync().ConfigureAwait(false);
        }

        var pending = _background.Keys.ToList();
        if (_controllerLoop is not null)
        {
            pending.Add(_controllerLoop);
        }

        try
        {
            await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            // A hook that ignores cancellation must not hang the test run.
        }

        _stopping.Dispose();
    }

    private static ResourceInfo Resource(string plural) =>
        ResourceInfo.FindByPlural(plural) ?? throw new ArgumentException($"unknown resource '{plural}'", nameof(plural));

    // ---- store (call with _gate held) --------------------------------------------------------------------------

    private static string Key(string? ns, string name) => $"{ns ?? ""}/{name}";

    private JsonObject? Find(ResourceInfo r, string? ns, string name) =>
        _store[r].TryGetValue(Key(r.Namespaced ? ns : "", name), out var o) ? o : null;

    private IEnumerable<JsonObject> Items(ResourceInfo r, string? ns) =>
        ns is null || !r.Namespaced ? _store[r].Values : _store[r].Values.Where(o => o.Str("metadata", "namespace") == ns);

    private string NextResourceVersion() => (++_resourceVersion).ToString(CultureInfo.InvariantCulture);

    private string Now() => Json.Timestamp(Time.GetUtcNow());

    private JsonObject CreateLocked(ResourceInfo r, string ns, JsonObject obj)
    {
        var meta = obj.Obj("metadata");
        var name = meta.Str("name");
        if (string.IsNullOrEmpty(name))
        {
            var prefix = meta.Str("generateName");
            if (string.IsNullOrEmpty(prefix))
            {
                throw KubeApiException.Invalid(r, "", "metadata.name", "Required value: name or generateName is required");
            }

            do
            {
                name = prefix + RandomSuffix();
            }
            while (Find(r, ns, name) is not null);
        }

        Validation.CheckName(r, name);
        if (Find(r, ns, name) is not null)
        {
            throw KubeApiException.AlreadyExists(r, name);
        }

        meta["name"] = name;
        if (r.Namespaced)
        {
            meta["namespace"] = ns;
        }
        else
        {
            meta.Remove("namespace");
        }

        meta["uid"] = Guid.NewGuid().ToString();
        meta["creationTimestamp"] = Now();
        meta["generation"] = 1;
        meta.Remove("deletionTimestamp");
        meta.Remove("deletionGracePeriodSeconds");
        obj["apiVersion"] = r.ApiVersion;
        obj["kind"] = r.Kind;
        Admit(r, obj, null);
        meta["resourceVersion"] = NextResourceVersion();
        _store[r][Key(ns, name)] = obj;
        EmitLocked(r, "ADDED", obj, null);
        return obj;
    }

    /// <summary>Stores a changed copy of an object (controllers and helpers); null when the object is gone.</summary>
    private JsonObject? UpdateLocked(ResourceInfo r, JsonObject current, Action<JsonObject> mutate)
    {
        var ns = current.Str("metadata", "namespace");
        var name = current.Str("metadata", "name") ?? "";
        var stored = Find(r, ns, name);
        if (stored is null || stored.Str("metadata", "uid") != current.Str("metadata", "uid"))
        {
            return null;
        }

        var next = stored.Clone();
        mutate(next);
        return StoreUpdateLocked(r, stored, next, fromController: true);
    }

    /// <summary>Stores <paramref name="next"/> over <paramref name="old"/>; only controllers may change the deletion fields.</summary>
    private JsonObject StoreUpdateLocked(ResourceInfo r, JsonObject old, JsonObject next, bool fromController)
    {
        var meta = next.Obj("metadata");
        var oldMeta = old.Obj("metadata");
        string[] kept = fromController
            ? ["name", "namespace", "uid", "creationTimestamp"]
            : ["name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"];
        foreach (var keep in kept)
        {
            if (oldMeta[keep] is { } v)
            {
                meta[keep] = v.DeepClone();
            }
            else
            {
                meta.Remove(keep);
            }
        }

        meta["generation"] = (old.Long("metadata", "generation") ?? 1) +
                             (JsonNode.DeepEquals(old["spec"], next["spec"]) ? 0 : 1);
        meta["resourceVersion"] = oldMeta["resourceVersion"]?.DeepClone();
        next["apiVersion"] = r.ApiVersion;
        next["kind"] = r.Kind;
        if (JsonNode.DeepEquals(old, next))
        {
            return old;
        }

        meta["resourceVersion"] = NextResourceVersion();
        _store[r][Key(meta.Str("namespace"), meta.Str("name")!)] = next;
        EmitLocked(r, "MODIFIED", next, old);
        if (meta["deletionTimestamp"] is not null && next.At("metadata", "finalizers") is not JsonArray { Count: > 0 } && r != ResourceInfo.Pods)
        {
            return RemoveLocked(r, next);
        }

        return next;
    }

    private JsonObject RemoveLocked(ResourceInfo r, JsonObject obj)
    {
        var meta = obj.Obj("metadata");
        _store[r].Remove(Key(meta.Str("namespace"), meta.Str("name")!));
        var gone = obj.Clone();
        gone.Obj("metadata")["resourceVersion"] = NextResourceVersion();
        EmitLocked(r, "DELETED", gone, null);
        OnRemovedLocked(r, gone);
        return gone;
    }

    private void EmitLocked(ResourceInfo r, string type, JsonObject obj, JsonObject? old)
    {
        var e = new StoredEvent(_resourceVersion, r, type, obj, old);
        _history.Enqueue(e);
        while (_history.Count > Math.Max(1, Options.WatchHistoryLimit))
        {
            _historyFloor = _history.Dequeue().ResourceVersion;
        }

        foreach (var w in _watchers)
        {
            w.Offer(e);
        }

        _controllerQueue.Writer.TryWrite(e);
    }

    private static string RandomSuffix()
    {
        const string alphabet = "bcdfghjklmnpqrstvwxz2456789";
        return string.Create(5, 0, (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[Random.Shared.Next(alphabet.Length)];
            }
        });
    }

    private void Track(Func<Task> work)
    {
        var task = Task.Run(async () =>
        {
            try
            {
                await work().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                // Shutting down.
            }
            catch (Exception e)
            {
                LogBackgroundFailure(_logger, e);
            }
        });
        _background.TryAdd(task, 0);
        _ = task.ContinueWith(t => _background.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    [LoggerMessage(1, LogLevel.Warning, "Fake Kubernetes background work failed")]
    private static partial void LogBackgroundFailure(ILogger logger, Exception e);

    [LoggerMessage(2, LogLevel.Warning, "Fake Kubernetes request failed: {Method} {Path}")]
    private static partial void LogRequestFailure(ILogger logger, string method, string path, Exception e);

    internal sealed record StoredEvent(long ResourceVersion, ResourceInfo Resource, string Type, JsonObject Object, JsonObject? Old);
}

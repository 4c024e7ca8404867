using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GpuDev.Testing.Kubernetes;

/// <summary>Makes the fake kubelet run pods for real, as containers of podman (as root), from the pod spec: image,
/// command/args, env, capabilities and the mounts of the pod's volumes (ConfigMap and Secret: host directories rewritten
/// when the objects change, as a kubelet does; emptyDir: a host directory, or <c>--shm-size</c> for a memory-backed one
/// at <c>/dev/shm</c>; PersistentVolumeClaim: a host directory per claim, made from a VolumeSnapshot's copy when the claim
/// has one as its data source). Pods of one reservation share a podman network, on which each is also known by the
/// names of the headless Services that select it (<c>&lt;svc&gt;</c>, <c>&lt;svc&gt;.&lt;ns&gt;</c>, ...<c>.svc.cluster.local</c>).
/// A small kube-proxy listens on the node address (loopback) at every NodePort and forwards to the selected pod's
/// container. A container that ends ends its pod (Succeeded, or Failed with its log's tail); a deleted pod's container
/// is removed. Environment pods of images that are not here run <see cref="DefaultImage"/>; other such pods stay
/// simulated. Everything is labelled and named with this process's id, so leftovers of a killed run are removed by the
/// next one.</summary>
public sealed class PodmanBackend : IPodBackend
{
    /// <summary>The image that satisfies gpu-dev's environment contract (images/devbox/build.sh).</summary>
    public const string DefaultImage = "localhost/gpu-dev/devbox:latest";

    private const string Label = "gpu-dev.io/fake-cluster";
    private static readonly Lazy<string?> s_unavailable = new(FindUnavailableReason);

    private readonly FakeKubernetesServer _server;
    private readonly string _prefix = $"gf-{Environment.ProcessId}-{Guid.NewGuid():N}"[..24];
    private readonly string _dir;
    private readonly ConcurrentDictionary<string, PodRun> _pods = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _deletedUids = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, TcpListener> _nodePorts = new();
    private readonly Dictionary<string, int> _networkUsers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _networkGate = new(1, 1);
    private readonly Lock _snapshotGate = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _sync;

    public PodmanBackend(FakeKubernetesServer server)
    {
        _server = server;
        _dir = Path.Combine("/var/lib/gpu-dev-tests", _prefix);
        Directory.CreateDirectory(_dir);
        RemoveLeftoversAsync().GetAwaiter().GetResult();
        server.OnPodStarting = StartAsync;
        server.OnPodDeleted = StopAsync;
        _sync = Task.Run(() => SyncLoopAsync(_stopping.Token), CancellationToken.None);
    }

    public string Name => "podman";

    /// <summary>Why the backend cannot run here, or null.</summary>
    public static string? UnavailableReason => s_unavailable.Value;

    public IReadOnlyCollection<string> Running => [.. _pods.Keys];

    /// <summary>The container of a pod (for tests that look inside), or null.</summary>
    public string? ContainerOf(string ns, string name) => _pods.TryGetValue($"{ns}/{name}", out var run) ? run.Container : null;

    private static string? FindUnavailableReason()
    {
        if (Environment.UserName != "root")
        {
            return "the fake cluster's podman backend needs root";
        }

        if (!File.Exists("/usr/bin/podman"))
        {
            return "podman is not installed";
        }

        var (code, _, _) = RunAsync(["image", "exists", DefaultImage], CancellationToken.None).GetAwaiter().GetResult();
        return code == 0 ? null : $"the image {DefaultImage} is missing (images/devbox/build.sh builds it)";
    }

    private sealed class PodRun(string ns, string name, string uid, string container, IReadOnlyDictionary<string, string> labels)
    {
        public string Namespace { get; } = ns;

        public string Name { get; } = name;

        public string Uid { get; } = uid;

        public string Container { get; } = container;

        public IReadOnlyDictionary<string, string> Labels { get; } = labels;

        public string? Network { get; set; }

        public string? Ip { get; set; }

        public Dictionary<string, int> Ports { get; } = new(StringComparer.Ordinal);

        /// <summary>ConfigMap/Secret volumes: kind, object name, host directory, file mode, files last written.</summary>
        public List<(string Kind, string Source, string Dir, UnixFileMode Mode, Dictionary<string, string> Written)> Projected { get; } = [];

        public volatile bool Deleted;
    }

    // ---- start -------------------------------------------------------------------------------------------------

    private async Task StartAsync(PodStartContext context, CancellationToken cancellationToken)
    {
        var pod = context.Pod;
        var labels = pod.StringMap("metadata", "labels");
        var environment = labels.GetValueOrDefault("gpu-dev.io/role") == "environment";
        var spec = pod.Obj("spec");
        var container = spec.Objects("containers").First();
        var command = container.At("command") as JsonArray;
        if (environment && command is null)
        {
            return; // --preserve-entrypoint: the image's own command, nothing of gpu-dev's to run.
        }

        var image = container.Str("image") ?? "";
        if ((await RunAsync(["image", "exists", image], cancellationToken)).Code != 0)
        {
            if (!environment)
            {
                return; // build jobs and the like stay simulated
            }

            image = DefaultImage;
        }

        var (ns, name, uid) = (context.Namespace, context.Name, pod.Str("metadata", "uid") ?? "");
        // A pod made again under the same name (its predecessor's container may still be being removed) is another container.
        var cname = $"{_prefix}-{name}-{uid.Replace("-", "", StringComparison.Ordinal)[..Math.Min(8, uid.Length)]}";
        var podDir = Path.Combine(_dir, "pods", cname);
        Directory.CreateDirectory(podDir);
        var run = new PodRun(ns, name, uid, cname, labels);
        List<string> args =
        [
            "run", "-d", "--name", cname, "--runtime", "runc", "--init",
            "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096",
            "--label", $"{Label}={_prefix}", "--label", $"gpu-dev.io/pod={ns}.{name}",
            "--hostname", spec.Str("hostname") ?? name,
        ];
        if (labels.GetValueOrDefault("gpu-dev.io/reservation") is { } reservation)
        {
            args.AddRange(["--label", $"gpu-dev.io/reservation={reservation}"]);
        }

        foreach (var env in container.Objects("env"))
        {
            args.AddRange(["-e", $"{env.Str("name")}={env.Str("value")}"]);
        }

        foreach (var cap in container.At("securityContext", "capabilities", "add") as JsonArray ?? [])
        {
            args.AddRange(["--cap-add", cap!.GetValue<string>()]);
        }

        foreach (var port in container.Objects("ports"))
        {
            if (port.Str("name") is { } portName && port.Long("containerPort") is { } number)
            {
                run.Ports[portName] = (int)number;
            }
        }

        var volumes = spec.Objects("volumes").ToDictionary(v => v.Str("name")!, StringComparer.Ordinal);
        foreach (var mount in container.Objects("volumeMounts"))
        {
            var volume = volumes[mount.Str("name")!];
            var path = mount.Str("mountPath")!;
            var readOnly = mount.Bool("readOnly") ? ":ro" : "";
            string host;
            if (volume.At("emptyDir") is JsonObject emptyDir && emptyDir.Str("medium") == "Memory" && path == "/dev/shm")
            {
                var size = emptyDir.Str("sizeLimit") is { } limit ? (long)Quantity.Parse(limit) : 64L << 20;
                args.AddRange(["--shm-size", size.ToString(CultureInfo.InvariantCulture)]);
                continue;
            }
            else if (volume.At("configMap") is JsonObject map)
            {
                host = Project(run, "configmaps", map.Str("name")!, Path.Combine(podDir, "volumes", volume.Str("name")!), map.Long("defaultMode") ?? 420);
            }
            else if (volume.At("secret") is JsonObject secret)
            {
                host = Project(run, "secrets", secret.Str("secretName")!, Path.Combine(podDir, "volumes", volume.Str("name")!), secret.Long("defaultMode") ?? 420);
            }
            else if (volume.At("persistentVolumeClaim") is JsonObject claim)
            {
                host = await ClaimDirAsync(ns, claim.Str("claimName")!, cancellationToken);
                readOnly = readOnly.Length > 0 || claim.Bool("readOnly") ? ":ro" : "";
            }
            else
            {
                host = Path.Combine(podDir, "volumes", volume.Str("name")!);
                Directory.CreateDirectory(host);
            }

            if (mount.Str("subPath") is { Length: > 0 } subPath)
            {
                host = Path.Combine(host, subPath);
                Directory.CreateDirectory(host);
            }

            args.AddRange(["-v", $"{host}:{path}{readOnly}"]);
        }

        if (environment && labels.GetValueOrDefault("gpu-dev.io/reservation") is { } id)
        {
            run.Network = await AcquireNetworkAsync(id, cancellationToken);
            args.AddRange(["--network", run.Network]);
            foreach (var alias in await AliasesAsync(ns, labels, container, cancellationToken))
            {
                args.AddRange(["--network-alias", alias]);
            }
        }
        else
        {
            args.AddRange(["--network", "none"]);
        }

        if (command is not null)
        {
            args.AddRange(["--entrypoint", command.ToJsonString()]);
        }

        args.Add(image);
        args.AddRange((container.At("args") as JsonArray ?? []).Select(a => a!.GetValue<string>()));
        var (code, _, error) = await RunAsync(args, cancellationToken);
        if (code != 0)
        {
            await ReleaseNetworkAsync(run.Network);
            throw new InvalidOperationException($"podman run failed ({code}): {error.Trim()}");
        }

        if (run.Network is not null)
        {
            var (_, ip, _) = await RunAsync(["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", cname], cancellationToken);
            run.Ip = ip.Trim();
        }

        _pods[$"{ns}/{name}"] = run;
        if (_deletedUids.ContainsKey(uid))
        {
            await StopRunAsync(run);
            return;
        }

        _ = Task.Run(() => WatchExitAsync(run), CancellationToken.None);
        if (run.Ip is { Length: > 0 } address && run.Ports.TryGetValue("ssh", out var sshPort))
        {
            // Like a startup probe: Running once sshd answers, so a provider's first handshake finds it.
            await WaitListeningAsync(IPAddress.Parse(address), sshPort, run, cancellationToken);
        }
    }

    private static async Task WaitListeningAsync(IPAddress ip, int port, PodRun run, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline && !run.Deleted)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(ip, port, cancellationToken);
                using var stream = client.GetStream();
                var buffer = new byte[4];
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
                if (await stream.ReadAsync(buffer, timeout.Token) == 4 && Encoding.ASCII.GetString(buffer) == "SSH-")
                {
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>The names a pod is known by on its network: its hostname and every headless Service selecting it (multinode
    /// pods wait for theirs, which the provider creates right after the pod).</summary>
    private async Task<List<string>> AliasesAsync(string ns, IReadOnlyDictionary<string, string> labels, JsonObject container, CancellationToken cancellationToken)
    {
        var multinode = container.Objects("env").Any(e => e.Str("name") == "WORLD_SIZE" && e.Str("value") != "1");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var names = _server.List("services", ns)
                .Where(s => s.Str("spec", "clusterIP") == "None" && Selects(s, labels))
                .Select(s => s.Str("metadata", "name")!)
                .ToList();
            if (names.Count > 0 || !multinode || DateTime.UtcNow > deadline)
            {
                return [.. names.SelectMany(n => new[] { n, $"{n}.{ns}", $"{n}.{ns}.svc", $"{n}.{ns}.svc.cluster.local" })];
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    private static bool Selects(JsonObject service, IReadOnlyDictionary<string, string> labels)
    {
        var selector = service.StringMap("spec", "selector");
        return selector.Count > 0 && selector.All(s => labels.GetValueOrDefault(s.Key) == s.Value);
    }

    private async Task<string> AcquireNetworkAsync(string reservation, CancellationToken cancellationToken)
    {
        var network = $"{_prefix}-{reservation[..Math.Min(12, reservation.Length)]}";
        await _networkGate.WaitAsync(cancellationToken);
        try
        {
            if (_networkUsers.GetValueOrDefault(network) == 0)
            {
                var (code, _, error) = await RunAsync(["network", "create", "--label", $"{Label}={_prefix}", network], cancellationToken);
                if (code != 0 && !error.Contains("already exists", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException($"podman network create failed ({code}): {error.Trim()}");
                }
            }

            _networkUsers[network] = _networkUsers.GetValueOrDefault(network) + 1;
            return network;
        }
        finally
        {
            _networkGate.Release();
        }
    }

    private async Task ReleaseNetworkAsync(string? network)
    {
        if (network is null)
        {
            return;
        }

        await _networkGate.WaitAsync(CancellationToken.None);
        try
        {
            var users = _networkUsers.GetValueOrDefault(network) - 1;
            _networkUsers[network] = Math.Max(users, 0);
            if (users <= 0)
            {
                _networkUsers.Remove(network);
                await RunAsync(["network", "rm", "-f", network], CancellationToken.None);
            }
        }
        finally
        {
            _networkGate.Release();
        }
    }

    // ---- volumes -----------------------------------------------------------------------------------------------

    /// <summary>A ConfigMap's or Secret's keys as files in <paramref name="dir"/> (kept in step by the sync loop).</summary>
    private string Project(PodRun run, string kind, string source, string dir, long mode)
    {
        Directory.CreateDirectory(dir);
        var entry = (kind, source, dir, (UnixFileMode)mode, new Dictionary<string, string>(StringComparer.Ordinal));
        run.Projected.Add(entry);
        WriteProjected(run.Namespace, entry);
        return dir;
    }

    private void WriteProjected(string ns, (string Kind, string Source, string Dir, UnixFileMode Mode, Dictionary<string, string> Written) volume)
    {
        var obj = _server.Get(volume.Kind, ns, volume.Source);
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in obj?["data"]?.AsObject() ?? [])
        {
            var text = value!.GetValue<string>();
            files[key] = volume.Kind == "secrets" ? Encoding.UTF8.GetString(Convert.FromBase64String(text)) : text;
        }

        foreach (var (key, value) in volume.Kind == "secrets" ? obj?["stringData"]?.AsObject() ?? [] : [])
        {
            files[key] = value!.GetValue<string>();
        }

        foreach (var (key, text) in files)
        {
            if (volume.Written.GetValueOrDefault(key) == text)
            {
                continue;
            }

            var temp = Path.Combine(volume.Dir, $".{key}.tmp");
            File.WriteAllText(temp, text);
            File.SetUnixFileMode(temp, volume.Mode);
            File.Move(temp, Path.Combine(volume.Dir, key), overwrite: true);
            volume.Written[key] = text;
        }

        foreach (var key in volume.Written.Keys.Where(k => !files.ContainsKey(k)).ToList())
        {
            File.Delete(Path.Combine(volume.Dir, key));
            volume.Written.Remove(key);
        }
    }

    /// <summary>The host directory of a claim (by its uid, so a claim made again under the same name starts afresh); from
    /// its VolumeSnapshot's copy when it has one as data source.</summary>
    private async Task<string> ClaimDirAsync(string ns, string claimName, CancellationToken cancellationToken)
    {
        var claim = _server.Get("persistentvolumeclaims", ns, claimName);
        var dir = Path.Combine(_dir, "claims", ns, $"{claimName}-{claim?.Str("metadata", "uid") ?? "static"}");
        if (Directory.Exists(dir))
        {
            return dir;
        }

        if (claim?.Str("spec", "dataSource", "kind") == "VolumeSnapshot" && claim.Str("spec", "dataSource", "name") is { } snapshot)
        {
            var copy = SnapshotDir(ns, snapshot);
            CopySnapshots();
            if (Directory.Exists(copy))
            {
                var (code, _, error) = await RunProcessAsync("cp", ["-a", copy, dir], cancellationToken);
                if (code != 0)
                {
                    throw new InvalidOperationException($"restoring claim {claimName} from snapshot {snapshot} failed: {error.Trim()}");
                }

                return dir;
            }
        }

        Directory.CreateDirectory(dir);
        if ((claim?.At("spec", "accessModes") as JsonArray)?.Any(m => m?.GetValue<string>() == "ReadWriteMany") == true)
        {
            // As an EFS access point (uid/gid 1000, 0775, see deploy/kubernetes/overlays/eks) gives it: dev owns a new shared volume.
            await RunProcessAsync("chown", ["1000:1000", dir], cancellationToken);
            File.SetUnixFileMode(dir, (UnixFileMode)0b111_111_101);
        }

        return dir;
    }

    private string SnapshotDir(string ns, string snapshot) => Path.Combine(_dir, "snapshots", ns, snapshot);

    /// <summary>A VolumeSnapshot's content is its source claim's at the time the snapshot is first seen (the provider
    /// snapshots disks that no pod uses).</summary>
    private void CopySnapshots()
    {
        lock (_snapshotGate)
        {
            CopySnapshotsLocked();
        }
    }

    private void CopySnapshotsLocked()
    {
        foreach (var snapshot in _server.List("volumesnapshots"))
        {
            var ns = snapshot.Str("metadata", "namespace")!;
            var target = SnapshotDir(ns, snapshot.Str("metadata", "name")!);
            if (Directory.Exists(target) || snapshot.Str("spec", "source", "persistentVolumeClaimName") is not { } source)
            {
                continue;
            }

            var claim = _server.Get("persistentvolumeclaims", ns, source);
            var from = Path.Combine(_dir, "claims", ns, $"{source}-{claim?.Str("metadata", "uid") ?? "static"}");
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (Directory.Exists(from))
            {
                RunProcessAsync("cp", ["-a", from, target], CancellationToken.None).GetAwaiter().GetResult();
            }
            else
            {
                Directory.CreateDirectory(target);
            }
        }
    }

    // ---- end of a container, deletion of a pod --------------------------------------------------------------------

    private async Task WatchExitAsync(PodRun run)
    {
        var (code, output, _) = await RunAsync(["wait", run.Container], _stopping.Token);
        if (run.Deleted || _stopping.IsCancellationRequested || code != 0 || !int.TryParse(output.Trim(), CultureInfo.InvariantCulture, out var exitCode))
        {
            return;
        }

        var (_, log, _) = await RunProcessAsync("/bin/sh", ["-c", "podman logs \"$0\" 2>&1", run.Container], CancellationToken.None);
        var tail = string.Join('\n', log.TrimEnd().Split('\n').TakeLast(20));
        _server.EndPodContainer(run.Namespace, run.Name, exitCode, tail, log);
    }

    private async Task StopAsync(JsonObject pod, CancellationToken cancellationToken)
    {
        var uid = pod.Str("metadata", "uid") ?? "";
        _deletedUids[uid] = 0;
        if (_pods.TryGetValue($"{pod.Str("metadata", "namespace")}/{pod.Str("metadata", "name")}", out var run) && run.Uid == uid)
        {
            await StopRunAsync(run);
        }
    }

    private async Task StopRunAsync(PodRun run)
    {
        run.Deleted = true;
        await RunAsync(["rm", "-f", "-t", "0", run.Container], CancellationToken.None);
        _pods.TryRemove(new KeyValuePair<string, PodRun>($"{run.Namespace}/{run.Name}", run));
        await ReleaseNetworkAsync(run.Network);
        try
        {
            Directory.Delete(Path.Combine(_dir, "pods", run.Container), recursive: true);
        }
        catch (IOException)
        {
        }
    }

    // ---- sync loop: projected volumes, snapshots, claims, NodePorts -------------------------------------------------

    private async Task SyncLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                foreach (var run in _pods.Values.Where(r => !r.Deleted))
                {
                    foreach (var volume in run.Projected)
                    {
                        WriteProjected(run.Namespace, volume);
                    }
                }

                CopySnapshots();
                SyncNodePorts();
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException or SocketException)
            {
                // Next round.
            }

            try
            {
                await Task.Delay(100, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>kube-proxy for NodePorts: a listener on the node address per NodePort; each connection goes to the
    /// container of a pod the Service selects.</summary>
    private void SyncNodePorts()
    {
        var wanted = new Dictionary<int, (JsonObject Service, JsonObject Port)>();
        foreach (var service in _server.List("services"))
        {
            if (service.Str("spec", "type") != "NodePort")
            {
                continue;
            }

            foreach (var port in service.Objects("spec", "ports"))
            {
                if (port.Long("nodePort") is { } nodePort and > 0)
                {
                    wanted[(int)nodePort] = (service, port);
                }
            }
        }

        foreach (var (nodePort, (service, port)) in wanted)
        {
            if (_nodePorts.ContainsKey(nodePort))
            {
                continue;
            }

            var listener = new TcpListener(IPAddress.Parse(_server.Options.NodeIp), nodePort);
            listener.Start();
            _nodePorts[nodePort] = listener;
            _ = Task.Run(() => AcceptAsync(listener, nodePort), CancellationToken.None);
        }

        foreach (var nodePort in _nodePorts.Keys.Where(p => !wanted.ContainsKey(p)).ToList())
        {
            if (_nodePorts.TryRemove(nodePort, out var listener))
            {
                listener.Stop();
            }
        }
    }

    private async Task AcceptAsync(TcpListener listener, int nodePort)
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ForwardAsync(client, nodePort), CancellationToken.None);
        }
    }

    private async Task ForwardAsync(TcpClient client, int nodePort)
    {
        using (client)
        {
            if (Target(nodePort) is not { } target)
            {
                return;
            }

            using var upstream = new TcpClient();
            try
            {
                await upstream.ConnectAsync(target.Ip, target.Port, _stopping.Token);
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                var a = client.GetStream();
                var b = upstream.GetStream();
                var one = Pump(a, b, upstream.Client, cts.Token);
                var two = Pump(b, a, client.Client, cts.Token);
                await Task.WhenAll(one, two);
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
            {
                // The connection ends; the client sees it closed.
            }
        }
    }

    private static async Task Pump(NetworkStream from, NetworkStream to, Socket toSocket, CancellationToken cancellationToken)
    {
        try
        {
            await from.CopyToAsync(to, cancellationToken);
            toSocket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            toSocket.Close();
        }
    }

    private (IPAddress Ip, int Port)? Target(int nodePort)
    {
        var service = _server.List("services").FirstOrDefault(s => s.Str("spec", "type") == "NodePort" && s.Objects("spec", "ports").Any(p => p.Long("nodePort") == nodePort));
        var port = service?.Objects("spec", "ports").First(p => p.Long("nodePort") == nodePort);
        if (service is null || port is null)
        {
            return null;
        }

        foreach (var run in _pods.Values.Where(r => !r.Deleted && r.Ip is { Length: > 0 } && r.Namespace == service.Str("metadata", "namespace")))
        {
            if (!Selects(service, run.Labels))
            {
                continue;
            }

            var target = port["targetPort"] is JsonValue v && v.TryGetValue<int>(out var number) ? number
                : port.Str("targetPort") is { } portName && run.Ports.TryGetValue(portName, out var named) ? named
                : (int)(port.Long("port") ?? 0);
            return (IPAddress.Parse(run.Ip!), target);
        }

        return null;
    }

    // ---- processes, cleanup ------------------------------------------------------------------------------------

    /// <summary>Containers and networks of runs whose process is gone (a test run that was killed).</summary>
    private static async Task RemoveLeftoversAsync()
    {
        var (_, containers, _) = await RunAsync(["ps", "-a", "--filter", $"label={Label}", "--format", "{{.Names}}"], CancellationToken.None);
        var (_, networks, _) = await RunAsync(["network", "ls", "--filter", $"label={Label}", "--format", "{{.Name}}"], CancellationToken.None);
        var dead = containers.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(IsOrphan).ToList();
        if (dead.Count > 0)
        {
            await RunAsync(["rm", "-f", "-t", "0", .. dead], CancellationToken.None);
        }

        foreach (var network in networks.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(IsOrphan))
        {
            await RunAsync(["network", "rm", "-f", network], CancellationToken.None);
        }
    }

    private static bool IsOrphan(string name)
    {
        var parts = name.Split('-');
        if (parts.Length < 2 || parts[0] != "gf" || !int.TryParse(parts[1], CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    private static Task<(int Code, string Output, string Error)> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        RunProcessAsync("podman", args, cancellationToken);

    private static async Task<(int Code, string Output, string Error)> RunProcessAsync(string file, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"{file} did not start");
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var error = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await output, await error);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _sync;
        foreach (var listener in _nodePorts.Values)
        {
            listener.Stop();
        }

        var (_, containers, _) = await RunAsync(["ps", "-a", "--filter", $"label={Label}={_prefix}", "--format", "{{.Names}}"], CancellationToken.None);
        var names = containers.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (names.Length > 0)
        {
            await RunAsync(["rm", "-f", "-t", "0", .. names], CancellationToken.None);
        }

        var (_, networks, _) = await RunAsync(["network", "ls", "--filter", $"label={Label}={_prefix}", "--format", "{{.Name}}"], CancellationToken.None);
        foreach (var network in networks.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            await RunAsync(["network", "rm", "-f", network], CancellationToken.None);
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        _stopping.Dispose();
        _networkGate.Dispose();
    }
}

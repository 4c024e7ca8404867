using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.Kubernetes;

/// <summary>Runs reservations as pods on a Kubernetes cluster (EKS with the NVIDIA GPU operator in the seed). Every
/// object has a deterministic name and the reservation's labels, so each call is safe to repeat after a crash; the
/// environment is <see cref="EnvironmentState.Ready"/> only after an SSH key exchange through its NodePort presented
/// the host key gpu-dev generated for it.</summary>
public sealed partial class KubernetesProvider : IComputeProvider, IEnvironmentEvents
{
    private const string WorldSizeAnnotation = "gpu-dev.io/world-size";
    private static readonly TimeSpan s_removeWait = TimeSpan.FromSeconds(60);

    private readonly IKubernetes _client;
    private readonly KubernetesOptions _options;
    private readonly GpuCatalog _catalog;
    private readonly TimeProvider _time;
    private readonly ILogger<KubernetesProvider> _logger;
    private readonly EnvironmentObjects _objects;

    /// <summary>Reservations whose objects this process is deleting, so their pods' deletion is not reported as a failure.</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _removing = new(StringComparer.Ordinal);

    private readonly BuildRegistryTokens? _buildTokens;

    public KubernetesProvider(IKubernetes client, IOptions<KubernetesOptions> options, GpuCatalog catalog, TimeProvider time, ILogger<KubernetesProvider> logger,
        BuildRegistryTokens? buildTokens = null)
    {
        _buildTokens = options.Value.BuildTokens ? buildTokens ?? new BuildRegistryTokens(options, time) : null;
        _client = client;
        _options = options.Value;
        _catalog = catalog;
        _time = time;
        _logger = logger;
        _objects = new EnvironmentObjects(_options, catalog);
    }

    public string Name => "kubernetes";

    public bool SupportsCustomImages => true;

    private string Ns => _options.Namespace;

    public async Task<IReadOnlyList<ComputeNode>> DiscoverNodesAsync(CancellationToken cancellationToken)
    {
        var nodes = await _client.CoreV1.ListNodeAsync(cancellationToken: cancellationToken);
        var pods = await _client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: cancellationToken);
        var usedByOthers = pods.Items
            .Where(p => p.Spec?.NodeName is not null && !IsTerminal(p) && !IsOurs(p.Metadata))
            .GroupBy(p => p.Spec.NodeName)
            .ToDictionary(g => g.Key, g => g.Sum(GpusOf), StringComparer.Ordinal);

        var result = new List<ComputeNode>();
        foreach (var node in nodes.Items)
        {
            if (GpuTypeOf(node) is not { } type || !IsSchedulable(node))
            {
                continue;
            }

            var gpus = (int)Quantities.Of(node.Status?.Allocatable, K8sNames.Gpu) - usedByOthers.GetValueOrDefault(node.Metadata.Name);
            if (gpus <= 0 && !type.IsCpuOnly)
            {
                continue;
            }

            result.Add(new ComputeNode(node.Metadata.Name, type.Name, Math.Max(0, gpus), Simulated: false,
                new Dictionary<string, string>(node.Metadata.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal)));
        }

        LogDiscovered(_logger, result.Count, nodes.Items.Count);
        return result;
    }

    public async Task<EnvironmentStatus> EnsureEnvironmentAsync(EnvironmentSpec spec, CancellationToken cancellationToken)
    {
        var id = K8sNames.Checked(spec.ReservationId);
        if (spec.Allocations.Count == 0 || spec.Allocations.Select((a, i) => a.Rank == i).Any(ok => !ok))
        {
            return new EnvironmentStatus(EnvironmentState.Failed, null, "the allocations must be ranks 0..N-1 in rank order");
        }

        if (spec.DiskId is not null && spec.Allocations.Count > 1)
        {
            return new EnvironmentStatus(EnvironmentState.Failed, null, "named disks are not supported on multinode reservations yet");
        }

        _removing.TryRemove(id, out _);
        var image = spec.Options.DockerImage ?? _options.DefaultImage;
        if (spec.Options.Dockerfile is not null)
        {
            var (built, pending) = await EnsureBuildAsync(spec, cancellationToken);
            if (pending is not null)
            {
                return pending;
            }

            image = built!;
        }

        var facts = new List<EnvironmentObjects.NodeFacts>();
        var addresses = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var allocation in spec.Allocations)
        {
            var node = await OrNullAsync(() => _client.CoreV1.ReadNodeAsync(allocation.Node, cancellationToken: cancellationToken));
            if (node is null)
            {
                return new EnvironmentStatus(EnvironmentState.Failed, null, $"node {allocation.Node} is no longer in the cluster");
            }

            facts.Add(FactsOf(node));
            if (AddressOf(node) is { } address)
            {
                addresses[allocation.Node] = address;
            }
        }

        // Before any pod: a pod never runs without its reservation's network rules (the namespace default-deny would
        // leave it unreachable rather than open, but its ranks could not talk).
        await CreateIfMissingAsync(() => _client.NetworkingV1.CreateNamespacedNetworkPolicyAsync(_objects.NetworkPolicy(spec), Ns, cancellationToken: cancellationToken));
        var hostKey = await EnsureSecretAsync(spec, cancellationToken);
        await CreateIfMissingAsync(() => _client.CoreV1.CreateNamespacedConfigMapAsync(_objects.Config(spec), Ns, cancellationToken: cancellationToken));
        if (spec.Allocations.Count > 1 && string.IsNullOrEmpty(_options.SharedClaim))
        {
            await CreateIfMissingAsync(() => _client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(_objects.SharedClaim(spec), Ns, cancellationToken: cancellationToken));
        }

        var nodePorts = new Dictionary<int, int>();
        for (var rank = 0; rank < spec.Allocations.Count; rank++)
        {
            var pullSecret = spec.Options.Dockerfile is not null && _buildTokens is not null ? K8sNames.BuildAuth(id) : null;
            var pod = _objects.Pod(spec, rank, facts[rank], image, pullSecret);
            await CreateIfMissingAsync(() => _client.CoreV1.CreateNamespacedPodAsync(pod, Ns, cancellationToken: cancellationToken));
            var ssh = _objects.SshService(spec, rank);
            var created = await CreatedOrNullAsync(() => _client.CoreV1.CreateNamespacedServiceAsync(ssh, Ns, cancellationToken: cancellationToken));
            if (created?.Spec?.Ports?.FirstOrDefault()?.NodePort is { } nodePort)
            {
                nodePorts[rank] = nodePort;
            }

            if (spec.Allocations.Count > 1)
            {
                var headless = _objects.HeadlessService(spec, rank);
                await CreateIfMissingAsync(() => _client.CoreV1.CreateNamespacedServiceAsync(headless, Ns, cancellationToken: cancellationToken));
            }
        }

        if (spec.Jupyter)
        {
            await CreateIfMissingAsync(() => _client.CoreV1.CreateNamespacedServiceAsync(_objects.JupyterService(spec), Ns, cancellationToken: cancellationToken));
        }

        var pods = await WaitForPodsAsync(id, spec.Allocations.Count, cancellationToken);
        return await StatusAsync(id, spec.Allocations.Count, pods, hostKey, spec.Options.PreserveEntrypoint, cancellationToken, nodePorts, addresses);
    }

    public async Task<EnvironmentStatus> GetEnvironmentAsync(string reservationId, CancellationToken cancellationToken)
    {
        var id = K8sNames.Checked(reservationId);
        var secret = await OrNullAsync(() => _client.CoreV1.ReadNamespacedSecretAsync(K8sNames.Secret(id), Ns, cancellationToken: cancellationToken));
        var pods = await EnvironmentPodsAsync(id, cancellationToken);
        if (secret is null)
        {
            return pods.Count == 0
                ? new EnvironmentStatus(EnvironmentState.Absent, null)
                : new EnvironmentStatus(EnvironmentState.Failed, null, "the environment is incomplete (its key Secret is missing)");
        }

        var worldSize = int.TryParse(Value(secret.Metadata.Annotations, WorldSizeAnnotation), CultureInfo.InvariantCulture, out var n) ? n : 1;
        var hostKey = Text(secret, EnvironmentContract.HostKeyPubFile).Trim();
        // --preserve-entrypoint pods keep the image's command: no sshd of ours to shake hands with.
        var preserve = pods.Count > 0 && pods[0].Spec?.Containers?.FirstOrDefault()?.Command is null;
        return await StatusAsync(id, worldSize, pods, hostKey, preserve, cancellationToken);
    }

    public async Task RemoveEnvironmentAsync(string reservationId, CancellationToken cancellationToken)
    {
        var id = K8sNames.Checked(reservationId);
        _removing[id] = _time.GetUtcNow();
        var selector = K8sNames.OfReservation(id);
        foreach (var pod in (await _client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await IgnoreNotFoundAsync(() => _client.CoreV1.DeleteNamespacedPodAsync(pod.Metadata.Name, Ns, gracePeriodSeconds: 5, cancellationToken: cancellationToken));
        }

        foreach (var job in (await _client.BatchV1.ListNamespacedJobAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await IgnoreNotFoundAsync(() => _client.BatchV1.DeleteNamespacedJobAsync(job.Metadata.Name, Ns, propagationPolicy: "Background", cancellationToken: cancellationToken));
        }

        foreach (var service in (await _client.CoreV1.ListNamespacedServiceAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await IgnoreNotFoundAsync(() => _client.CoreV1.DeleteNamespacedServiceAsync(service.Metadata.Name, Ns, cancellationToken: cancellationToken));
        }

        foreach (var map in (await _client.CoreV1.ListNamespacedConfigMapAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await IgnoreNotFoundAsync(() => _client.CoreV1.DeleteNamespacedConfigMapAsync(map.Metadata.Name, Ns, cancellationToken: cancellationToken));
        }

        foreach (var secret in (await _client.CoreV1.ListNamespacedSecretAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await IgnoreNotFoundAsync(() => _client.CoreV1.DeleteNamespacedSecretAsync(secret.Metadata.Name, Ns, cancellationToken: cancellationToken));
        }

        foreach (var policy in (await _client.NetworkingV1.ListNamespacedNetworkPolicyAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await IgnoreNotFoundAsync(() => _client.NetworkingV1.DeleteNamespacedNetworkPolicyAsync(policy.Metadata.Name, Ns, cancellationToken: cancellationToken));
        }

        // The reservation's own /shared claim (named disks carry no reservation label and stay).
        foreach (var claim in (await _client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items)
        {
            await IgnoreNotFoundAsync(() => _client.CoreV1.DeleteNamespacedPersistentVolumeClaimAsync(claim.Metadata.Name, Ns, cancellationToken: cancellationToken));
        }

        // A disk claim can be snapshotted or attached elsewhere only once its pod is gone.
        var deadline = _time.GetUtcNow() + s_removeWait;
        while ((await _client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Count > 0)
        {
            if (_time.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"the pods of {id} were not gone after {s_removeWait.TotalSeconds:0} s");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), _time, cancellationToken);
        }

        LogRemoved(_logger, id);
    }

    public async Task<IReadOnlyList<string>> ListEnvironmentsAsync(CancellationToken cancellationToken)
    {
        var selector = K8sNames.ManagedSelector;
        var metas = new List<V1ObjectMeta>();
        metas.AddRange((await _client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        metas.AddRange((await _client.CoreV1.ListNamespacedServiceAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        metas.AddRange((await _client.CoreV1.ListNamespacedSecretAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        metas.AddRange((await _client.CoreV1.ListNamespacedConfigMapAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        metas.AddRange((await _client.BatchV1.ListNamespacedJobAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        metas.AddRange((await _client.CoreV1.ListNamespacedPersistentVolumeClaimAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        metas.AddRange((await _client.NetworkingV1.ListNamespacedNetworkPolicyAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.Select(o => o.Metadata));
        return [.. metas.Select(m => Value(m.Labels, K8sNames.Reservation)).OfType<string>().Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>The warning goes into the reservation's ConfigMap; the environment's entry copies it into the home and
    /// onto every terminal (the kubelet refreshes mounted ConfigMaps within about a minute).</summary>
    public Task DeliverWarningAsync(string reservationId, string fileName, string message, CancellationToken cancellationToken) =>
        PatchConfigAsync(reservationId, new Dictionary<string, string?> { [CheckedWarningFile(fileName)] = message.EndsWith('\n') ? message : message + "\n" }, cancellationToken);

    public async Task ClearWarningsAsync(string reservationId, CancellationToken cancellationToken)
    {
        var map = await OrNullAsync(() => _client.CoreV1.ReadNamespacedConfigMapAsync(K8sNames.Config(K8sNames.Checked(reservationId)), Ns, cancellationToken: cancellationToken));
        var keys = map?.Data?.Keys.Where(k => k.StartsWith("EXPIRES_IN_", StringComparison.Ordinal)).ToList() ?? [];
        if (keys.Count > 0)
        {
            await PatchConfigAsync(reservationId, keys.ToDictionary(k => k, _ => (string?)null), cancellationToken);
        }
    }

    /// <summary>Jupyter is wanted while the ConfigMap has the key <see cref="EnvironmentContract.JupyterFile"/>: the entry starts the
    /// server from the image when it appears and stops it when it goes (at its next sync, within seconds of the kubelet
    /// refreshing the mounted ConfigMap). The NodePort Service makes it reachable.</summary>
    public async Task<JupyterEndpoint> StartJupyterAsync(string reservationId, CancellationToken cancellationToken)
    {
        var id = K8sNames.Checked(reservationId);
        var secret = await OrNullAsync(() => _client.CoreV1.ReadNamespacedSecretAsync(K8sNames.Secret(id), Ns, cancellationToken: cancellationToken));
        var pod = (await EnvironmentPodsAsync(id, cancellationToken)).FirstOrDefault(p => RankOf(p) == 0);
        if (secret is null || pod?.Spec?.NodeName is not { } nodeName || IsTerminal(pod))
        {
            throw new EnvironmentUnavailableException("the environment's pod is not running");
        }

        if (pod.Spec.Containers?.FirstOrDefault()?.Command is null)
        {
            throw new EnvironmentUnavailableException("with --preserve-entrypoint the image's own command runs, not gpu-dev's entry: start Jupyter yourself");
        }

        await PatchConfigAsync(id, new Dictionary<string, string?> { [EnvironmentContract.JupyterFile] = "1\n" }, cancellationToken);
        var spec = new EnvironmentSpec
        {
            ReservationId = id,
            Owner = Value(secret.Metadata.Annotations, K8sNames.Owner) ?? "",
            AuthorizedKeys = [],
            Allocations = [],
            GpuType = "",
        };
        var service = await CreatedOrNullAsync(() => _client.CoreV1.CreateNamespacedServiceAsync(_objects.JupyterService(spec), Ns, cancellationToken: cancellationToken))
            ?? await _client.CoreV1.ReadNamespacedServiceAsync(K8sNames.JupyterService(id), Ns, cancellationToken: cancellationToken);
        if (service.Spec?.Ports?.FirstOrDefault()?.NodePort is not { } port)
        {
            throw new EnvironmentUnavailableException("the Jupyter service has no NodePort");
        }

        var host = await NodeAddressAsync(nodeName, pod, cancellationToken);
        var token = Text(secret, EnvironmentContract.JupyterTokenFile);
        // The root redirects to Lab or Notebook, whichever the image has.
        return new JupyterEndpoint($"http://{host}:{port}/?token={token}", token);
    }

    /// <summary>Removes the ConfigMap key (the entry stops the server) and the Service.</summary>
    public async Task StopJupyterAsync(string reservationId, CancellationToken cancellationToken)
    {
        var id = K8sNames.Checked(reservationId);
        await PatchConfigAsync(id, new Dictionary<string, string?> { [EnvironmentContract.JupyterFile] = null }, cancellationToken);
        await IgnoreNotFoundAsync(() => _client.CoreV1.DeleteNamespacedServiceAsync(K8sNames.JupyterService(id), Ns, cancellationToken: cancellationToken));
    }

    private async Task<string> EnsureSecretAsync(EnvironmentSpec spec, CancellationToken cancellationToken)
    {
        var id = spec.ReservationId;
        var existing = await OrNullAsync(() => _client.CoreV1.ReadNamespacedSecretAsync(K8sNames.Secret(id), Ns, cancellationToken: cancellationToken));
        if (existing is null)
        {
            var hostKey = await SshTools.GenerateAsync($"gpu-dev-{id}", cancellationToken);
            var rankKey = spec.Allocations.Count > 1 ? await SshTools.GenerateAsync($"gpu-dev-{id}-ranks", cancellationToken) : null;
            var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
            var secret = _objects.Secret(spec, hostKey, rankKey, token);
            secret.Metadata.Annotations[WorldSizeAnnotation] = spec.Allocations.Count.ToString(CultureInfo.InvariantCulture);
            if (await CreateIfMissingAsync(() => _client.CoreV1.CreateNamespacedSecretAsync(secret, Ns, cancellationToken: cancellationToken)))
            {
                return hostKey.PublicKey;
            }

            existing = await _client.CoreV1.ReadNamespacedSecretAsync(K8sNames.Secret(id), Ns, cancellationToken: cancellationToken);
        }

        // Added users (edit --add-user) change the keys: the entry re-installs them without restarting sshd.
        var rankPublic = Text(existing, EnvironmentObjects.NodeKeyPubKey).Trim();
        var wanted = EnvironmentObjects.AuthorizedKeys(spec, rankPublic.Length > 0 ? new HostKeyPair("", rankPublic) : null);
        if (Text(existing, EnvironmentContract.AuthorizedKeysFile) != wanted)
        {
            var patch = new V1Patch(new Dictionary<string, object> { ["stringData"] = new Dictionary<string, string> { [EnvironmentContract.AuthorizedKeysFile] = wanted } },
                V1Patch.PatchType.MergePatch);
            await _client.CoreV1.PatchNamespacedSecretAsync(patch, K8sNames.Secret(id), Ns, cancellationToken: cancellationToken);
        }

        return Text(existing, EnvironmentContract.HostKeyPubFile).Trim();
    }

    private async Task<(string? Image, EnvironmentStatus? Pending)> EnsureBuildAsync(EnvironmentSpec spec, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(_options.BuildRegistry))
        {
            return (null, new EnvironmentStatus(EnvironmentState.Failed, null,
                "--dockerfile needs a registry for built images: the server's Kubernetes:BuildRegistry is not set"));
        }

        var (context, job, auth) = _objects.Build(spec, _buildTokens?.DockerConfigJson(spec.ReservationId));
        if (auth is not null)
        {
            await CreateIfMissingAsync(() => _client.CoreV1.CreateNamespacedSecretAsync(auth, Ns, cancellationToken: cancellationToken));
        }

        await CreateIfMissingAsync(() => _client.CoreV1.CreateNamespacedConfigMapAsync(context, Ns, cancellationToken: cancellationToken));
        await CreateIfMissingAsync(() => _client.BatchV1.CreateNamespacedJobAsync(job, Ns, cancellationToken: cancellationToken));
        var current = await _client.BatchV1.ReadNamespacedJobAsync(job.Metadata.Name, Ns, cancellationToken: cancellationToken);
        if (current.Status?.Succeeded is > 0)
        {
            var digest = await BuildDigestAsync(spec.ReservationId, cancellationToken);
            return EnvironmentObjects.IsDigest(digest)
                ? (_objects.BuiltImageByDigest(spec.ReservationId, digest!), null)
                : (null, new EnvironmentStatus(EnvironmentState.Failed, null,
                    "the image build succeeded but its container reported no sha256 digest (Kaniko --digest-file): the image is not run by tag"));
        }

        var log = await BuildLogTailAsync(spec.ReservationId, 20, cancellationToken);
        if (current.Status?.Failed is > 0)
        {
            return (null, new EnvironmentStatus(EnvironmentState.Failed, null, $"image build failed:\n{log}".TrimEnd()));
        }

        var last = log.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        return (null, new EnvironmentStatus(EnvironmentState.Starting, null, last is null ? "building the image from the Dockerfile" : $"building the image: {last}"));
    }

    /// <summary>The digest the succeeded build pod's container left as its termination message.</summary>
    private async Task<string?> BuildDigestAsync(string id, CancellationToken cancellationToken)
    {
        var selector = $"{K8sNames.OfReservation(id)},{K8sNames.Role}={K8sNames.BuildRole}";
        var pods = (await _client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items;
        return pods.Where(p => p.Status?.Phase == "Succeeded")
            .SelectMany(p => p.Status.ContainerStatuses ?? [])
            .Where(c => c.Name == "build")
            .Select(c => c.State?.Terminated?.Message?.Trim())
            .FirstOrDefault(EnvironmentObjects.IsDigest);
    }

    private async Task<string> BuildLogTailAsync(string id, int lines, CancellationToken cancellationToken)
    {
        var selector = $"{K8sNames.Reservation}={id},{K8sNames.Role}={K8sNames.BuildRole}";
        var pod = (await _client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken)).Items.LastOrDefault();
        if (pod is null)
        {
            return "";
        }

        try
        {
            await using var stream = await _client.CoreV1.ReadNamespacedPodLogAsync(pod.Metadata.Name, Ns, tailLines: lines, cancellationToken: cancellationToken);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var text = await reader.ReadToEndAsync(cancellationToken);
            return text.Length > 4000 ? text[^4000..] : text;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
        {
            return "";
        }
    }

    /// <summary>Waits (up to <see cref="KubernetesOptions.ReadyWait"/>) until every rank's pod runs or one has ended, with
    /// a watch, so a pod that starts is seen at once rather than at the next poll.</summary>
    private async Task<IReadOnlyList<V1Pod>> WaitForPodsAsync(string id, int worldSize, CancellationToken cancellationToken)
    {
        var selector = $"{K8sNames.OfReservation(id)},{K8sNames.Role}={K8sNames.EnvironmentRole}";
        var list = await _client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: selector, cancellationToken: cancellationToken);
        var pods = list.Items.ToDictionary(p => p.Metadata.Name, StringComparer.Ordinal);
        if (Settled(pods.Values, worldSize) || _options.ReadyWait <= TimeSpan.Zero)
        {
            return [.. pods.Values];
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(_options.ReadyWait);
        try
        {
            await foreach (var (type, pod) in _client.CoreV1.WatchListNamespacedPodAsync(Ns, labelSelector: selector, resourceVersion: list.Metadata?.ResourceVersion,
                timeoutSeconds: (int)Math.Ceiling(_options.ReadyWait.TotalSeconds), cancellationToken: cts.Token))
            {
                if (type == WatchEventType.Deleted)
                {
                    pods.Remove(pod.Metadata.Name);
                }
                else if (type is WatchEventType.Added or WatchEventType.Modified)
                {
                    pods[pod.Metadata.Name] = pod;
                }

                if (Settled(pods.Values, worldSize))
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // ReadyWait is over: report what there is; the caller asks again.
        }

        return [.. pods.Values];
    }

    private static bool Settled(IEnumerable<V1Pod> pods, int worldSize)
    {
        var list = pods.ToList();
        return list.Any(IsTerminal) || (list.Count >= worldSize && list.All(p => p.Status?.Phase == "Running"));
    }

    /// <param name="nodePorts">NodePorts already known (from creating the services), by rank; others are read.</param>
    /// <param name="addresses">Node addresses already known, by node name; others are read.</param>
    private async Task<EnvironmentStatus> StatusAsync(string id, int worldSize, IReadOnlyList<V1Pod> pods, string hostKey, bool preserveEntrypoint,
        CancellationToken cancellationToken, IReadOnlyDictionary<int, int>? nodePorts = null, IReadOnlyDictionary<string, string>? addresses = null)
    {
        if (pods.FirstOrDefault(IsTerminal) is { } ended)
        {
            return new EnvironmentStatus(EnvironmentState.Failed, null, DescribeEnded(ended));
        }

        if (pods.Count < worldSize)
        {
            return new EnvironmentStatus(EnvironmentState.Starting, null, $"{pods.Count} of {worldSize} pods exist");
        }

        if (pods.FirstOrDefault(p => p.Status?.Phase != "Running") is { } waiting)
        {
            return new EnvironmentStatus(EnvironmentState.Starting, null, DescribeWaiting(waiting));
        }

        var endpoints = new List<Core.Reservations.SshEndpoint>();
        foreach (var pod in pods.OrderBy(RankOf))
        {
            var rank = RankOf(pod);
            if (nodePorts?.GetValueOrDefault(rank) is not { } nodePort || nodePort == 0)
            {
                var service = await OrNullAsync(() => _client.CoreV1.ReadNamespacedServiceAsync(K8sNames.SshService(id, rank), Ns, cancellationToken: cancellationToken));
                if (service?.Spec?.Ports?.FirstOrDefault()?.NodePort is not { } read)
                {
                    return new EnvironmentStatus(EnvironmentState.Starting, null, $"the SSH service of rank {rank} has no NodePort yet");
                }

                nodePort = read;
            }

            var host = addresses?.GetValueOrDefault(pod.Spec.NodeName) ?? await NodeAddressAsync(pod.Spec.NodeName, pod, cancellationToken);
            if (!preserveEntrypoint && !await SshTools.HandshakeAsync(host, nodePort, hostKey, cancellationToken))
            {
                return new EnvironmentStatus(EnvironmentState.Starting, null, $"rank {rank}: sshd at {host}:{nodePort} does not answer yet");
            }

            endpoints.Add(new Core.Reservations.SshEndpoint(host, nodePort, "dev", hostKey));
        }

        return new EnvironmentStatus(EnvironmentState.Ready, endpoints[0]) { NodeEndpoints = endpoints.Count > 1 ? endpoints : null };
    }

    private async Task<string> NodeAddressAsync(string nodeName, V1Pod pod, CancellationToken cancellationToken)
    {
        var node = await OrNullAsync(() => _client.CoreV1.ReadNodeAsync(nodeName, cancellationToken: cancellationToken));
        return (node is null ? null : AddressOf(node))
            ?? pod.Status?.HostIP
            ?? throw new InvalidOperationException($"node {nodeName} has no {_options.NodeAddressType} address");
    }

    private string? AddressOf(V1Node node) => node.Status?.Addresses?.FirstOrDefault(a => a.Type == _options.NodeAddressType)?.Address;

    private async Task<IReadOnlyList<V1Pod>> EnvironmentPodsAsync(string id, CancellationToken cancellationToken) =>
        [.. (await _client.CoreV1.ListNamespacedPodAsync(Ns, labelSelector: $"{K8sNames.OfReservation(id)},{K8sNames.Role}={K8sNames.EnvironmentRole}",
            cancellationToken: cancellationToken)).Items];

    private async Task PatchConfigAsync(string reservationId, Dictionary<string, string?> data, CancellationToken cancellationToken)
    {
        var patch = new V1Patch(new Dictionary<string, object> { ["data"] = data }, V1Patch.PatchType.MergePatch);
        await IgnoreNotFoundAsync(() => _client.CoreV1.PatchNamespacedConfigMapAsync(patch, K8sNames.Config(K8sNames.Checked(reservationId)), Ns, cancellationToken: cancellationToken));
    }

    private static string CheckedWarningFile(string fileName) =>
        fileName.StartsWith("EXPIRES_IN_", StringComparison.Ordinal) && fileName.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
            ? fileName
            : throw new ArgumentException($"'{fileName}' is not a warning file name (EXPIRES_IN_<N>_MIN).", nameof(fileName));

    internal GpuType? GpuTypeOf(V1Node node)
    {
        var labels = node.Metadata?.Labels ?? new Dictionary<string, string>();
        if (!string.IsNullOrEmpty(_options.GpuTypeLabel))
        {
            return labels.TryGetValue(_options.GpuTypeLabel, out var name) ? _catalog.Find(name) : null;
        }

        return labels.TryGetValue(K8sNames.InstanceTypeLabel, out var instanceType)
            ? _catalog.Types.FirstOrDefault(t => string.Equals(t.InstanceType, instanceType, StringComparison.OrdinalIgnoreCase))
            : null;
    }

    private static bool IsSchedulable(V1Node node) =>
        node.Spec?.Unschedulable != true
        && node.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private static EnvironmentObjects.NodeFacts FactsOf(V1Node node) => new(
        node.Metadata.Name,
        Quantities.Of(node.Status?.Allocatable, "cpu"),
        Quantities.Of(node.Status?.Allocatable, "memory"),
        (int)Quantities.Of(node.Status?.Allocatable, K8sNames.Gpu),
        (int)Quantities.Of(node.Status?.Allocatable, K8sNames.Efa));

    internal static bool IsOurs(V1ObjectMeta? meta) =>
        Value(meta?.Labels, K8sNames.ManagedBy) == K8sNames.ManagedByValue;

    internal static bool IsTerminal(V1Pod pod) => pod.Status?.Phase is "Failed" or "Succeeded";

    internal static int RankOf(V1Pod pod) =>
        int.TryParse(Value(pod.Metadata?.Labels, K8sNames.Rank), CultureInfo.InvariantCulture, out var rank) ? rank : 0;

    private static int GpusOf(V1Pod pod) =>
        (int)(pod.Spec?.Containers ?? []).Sum(c => Math.Max(Quantities.Of(c.Resources?.Limits, K8sNames.Gpu), Quantities.Of(c.Resources?.Requests, K8sNames.Gpu)));

    internal static string DescribeEnded(V1Pod pod)
    {
        var name = pod.Metadata.Name;
        var terminated = pod.Status?.ContainerStatuses?.Select(s => s.State?.Terminated).FirstOrDefault(t => t is not null);
        var detail = pod.Status?.Reason switch
        {
            "Evicted" => $"was evicted: {pod.Status.Message}",
            { } reason => $"failed: {reason}: {pod.Status?.Message}",
            null when terminated is not null => $"exited with code {terminated.ExitCode} ({terminated.Reason}){(string.IsNullOrWhiteSpace(terminated.Message) ? "" : ": " + terminated.Message.Trim())}",
            null => $"ended ({pod.Status?.Phase})",
        };
        return $"pod {name} {detail}".TrimEnd(' ', ':');
    }

    internal static string DescribeWaiting(V1Pod pod)
    {
        var name = pod.Metadata.Name;
        if (pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status == "False") is { } unscheduled)
        {
            return $"pod {name} cannot be scheduled: {unscheduled.Message}";
        }

        var waiting = (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? [])
            .Select(s => s.State?.Waiting).FirstOrDefault(w => w?.Reason is not null and not "ContainerCreating" and not "PodInitializing");
        return waiting is not null ? $"pod {name}: {waiting.Reason}: {waiting.Message}".TrimEnd(' ', ':') : $"pod {name} is {pod.Status?.Phase?.ToLowerInvariant() ?? "pending"}";
    }

    internal static string? Value(IDictionary<string, string>? map, string key) =>
        map is not null && map.TryGetValue(key, out var value) ? value : null;

    private static string Text(V1Secret secret, string key) =>
        secret.Data?.TryGetValue(key, out var bytes) == true ? Encoding.UTF8.GetString(bytes)
        : secret.StringData?.TryGetValue(key, out var text) == true ? text
        : "";

    internal static async Task<T?> OrNullAsync<T>(Func<Task<T>> call)
        where T : class
    {
        try
        {
            return await call();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>The object as created, or null when it was already there (a repeated call).</summary>
    internal static async Task<T?> CreatedOrNullAsync<T>(Func<Task<T>> create)
        where T : class
    {
        try
        {
            return await create();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            return null;
        }
    }

    /// <summary>True when created now, false when it was already there (a repeated call).</summary>
    internal static async Task<bool> CreateIfMissingAsync<T>(Func<Task<T>> create)
    {
        try
        {
            await create();
            return true;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            return false;
        }
    }

    internal static async Task IgnoreNotFoundAsync<T>(Func<Task<T>> call)
    {
        try
        {
            await call();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Kubernetes: {Usable} usable GPU nodes of {Total}")]
    private static partial void LogDiscovered(ILogger logger, int usable, int total);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Kubernetes: removed every object of reservation {ReservationId}")]
    private static partial void LogRemoved(ILogger logger, string reservationId);
}

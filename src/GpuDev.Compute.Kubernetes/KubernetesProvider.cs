using System.Collections.Concurrent;
using System.Globalization;
using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using k8s;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.Kubernetes;

/// <summary>Runs reservations as pods on a Kubernetes cluster (EKS with the NVIDIA GPU operator in the seed). Every
/// object has a deterministic name and the reservation's labels, so each call is safe to repeat after a crash; the
/// environment is <see cref="EnvironmentState.Ready"/> only after an SSH key exchange through its NodePort presented
/// the host key gpu-dev generated for it. This class orders the steps; each step is a collaborator's
/// (<see cref="NodeInventory"/>, <see cref="ImageBuilds"/>, <see cref="EnvironmentSecrets"/>, <see cref="EnvironmentReadiness"/>,
/// <see cref="ConfigMapSignals"/>, <see cref="LabeledObjects"/>, <see cref="EnvironmentWatch"/>, <see cref="NodeGroups"/>).</summary>
public sealed class KubernetesProvider : IComputeProvider, IEnvironmentEvents, INodeGroups
{
    private readonly IKubernetes _client;
    private readonly KubernetesOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<KubernetesProvider> _logger;
    private readonly EnvironmentObjects _objects;
    private readonly NodeInventory _nodes;
    private readonly ImageBuilds _builds;
    private readonly EnvironmentSecrets _secrets;
    private readonly EnvironmentReadiness _readiness;
    private readonly ConfigMapSignals _signals;
    private readonly LabeledObjects _labeled;
    private readonly EnvironmentWatch _watch;
    private readonly NodeGroups _groups;

    /// <summary>Reservations whose objects this process is deleting, so their pods' deletion is not reported as a failure.</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _removing = new(StringComparer.Ordinal);

    public KubernetesProvider(IKubernetes client, IOptions<KubernetesOptions> options, GpuCatalog catalog, TimeProvider time, ILogger<KubernetesProvider> logger,
        BuildRegistryTokens? buildTokens = null)
    {
        var buildTokensInUse = options.Value.BuildTokens ? buildTokens ?? new BuildRegistryTokens(options, time) : null;
        _client = client;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _objects = new EnvironmentObjects(_options, catalog);
        _nodes = new NodeInventory(client, _options, catalog, logger);
        _builds = new ImageBuilds(client, _options, _objects, buildTokensInUse);
        _secrets = new EnvironmentSecrets(client, _options, _objects);
        _readiness = new EnvironmentReadiness(client, _options, _nodes);
        _signals = new ConfigMapSignals(client, _options, _objects, _secrets, _readiness, _nodes);
        _labeled = new LabeledObjects(client, _options, time);
        _watch = new EnvironmentWatch(client, _options, _nodes, _removing, time, logger);
        _groups = new NodeGroups(client, _options, logger);
    }

    public string Name => "kubernetes";

    public bool SupportsCustomImages => true;

    private string Ns => _options.Namespace;

    public Task<IReadOnlyList<ComputeNode>> DiscoverNodesAsync(CancellationToken cancellationToken) => _nodes.DiscoverAsync(cancellationToken);

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
        // A placeholder that asked the autoscaler for a node may hold that node's GPUs: gone before any pod of ours.
        await _groups.RemoveAsync(id, cancellationToken);
        var image = spec.Options.DockerImage ?? _options.DefaultImage;
        if (spec.Options.Dockerfile is not null)
        {
            var (built, pending) = await _builds.EnsureAsync(spec, cancellationToken);
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
            var node = await ApiCalls.OrNullAsync(() => _client.CoreV1.ReadNodeAsync(allocation.Node, cancellationToken: cancellationToken));
            if (node is null)
            {
                return new EnvironmentStatus(EnvironmentState.Failed, null, $"node {allocation.Node} is no longer in the cluster");
            }

            facts.Add(NodeInventory.FactsOf(node));
            if (_nodes.AddressOf(node) is { } address)
            {
                addresses[allocation.Node] = address;
            }
        }

        // Before any pod: a pod never runs without its reservation's network rules (the namespace default-deny would
        // leave it unreachable rather than open, but its ranks could not talk).
        await ApiCalls.CreateIfMissingAsync(() => _client.NetworkingV1.CreateNamespacedNetworkPolicyAsync(_objects.NetworkPolicy(spec), Ns, cancellationToken: cancellationToken));
        var hostKey = await _secrets.EnsureAsync(spec, cancellationToken);
        await ApiCalls.CreateIfMissingAsync(() => _client.CoreV1.CreateNamespacedConfigMapAsync(_objects.Config(spec), Ns, cancellationToken: cancellationToken));
        if (spec.Allocations.Count > 1 && string.IsNullOrEmpty(_options.SharedClaim))
        {
            await ApiCalls.CreateIfMissingAsync(() => _client.CoreV1.CreateNamespacedPersistentVolumeClaimAsync(_objects.SharedClaim(spec), Ns, cancellationToken: cancellationToken));
        }

        var nodePorts = new Dictionary<int, int>();
        for (var rank = 0; rank < spec.Allocations.Count; rank++)
        {
            var pod = _objects.Pod(spec, rank, facts[rank], image, _builds.PullSecret(spec));
            await ApiCalls.CreateIfMissingAsync(() => _client.CoreV1.CreateNamespacedPodAsync(pod, Ns, cancellationToken: cancellationToken));
            var ssh = _objects.SshService(spec, rank);
            var created = await ApiCalls.CreatedOrNullAsync(() => _client.CoreV1.CreateNamespacedServiceAsync(ssh, Ns, cancellationToken: cancellationToken));
            if (created?.Spec?.Ports?.FirstOrDefault()?.NodePort is { } nodePort)
            {
                nodePorts[rank] = nodePort;
            }

            if (spec.Allocations.Count > 1)
            {
                var headless = _objects.HeadlessService(spec, rank);
                await ApiCalls.CreateIfMissingAsync(() => _client.CoreV1.CreateNamespacedServiceAsync(headless, Ns, cancellationToken: cancellationToken));
            }
        }

        if (spec.Jupyter)
        {
            await ApiCalls.CreateIfMissingAsync(() => _client.CoreV1.CreateNamespacedServiceAsync(_objects.JupyterService(spec), Ns, cancellationToken: cancellationToken));
        }

        var pods = await _readiness.WaitForPodsAsync(id, spec.Allocations.Count, cancellationToken);
        return await _readiness.StatusAsync(id, spec.Allocations.Count, pods, hostKey, spec.Options.PreserveEntrypoint, cancellationToken, nodePorts, addresses);
    }

    public async Task<EnvironmentStatus> GetEnvironmentAsync(string reservationId, CancellationToken cancellationToken)
    {
        var id = K8sNames.Checked(reservationId);
        var secret = await _secrets.ReadAsync(id, cancellationToken);
        var pods = await _readiness.PodsAsync(id, cancellationToken);
        if (secret is null)
        {
            return pods.Count == 0
                ? new EnvironmentStatus(EnvironmentState.Absent, null)
                : new EnvironmentStatus(EnvironmentState.Failed, null, "the environment is incomplete (its key Secret is missing)");
        }

        var worldSize = int.TryParse(ObjectFacts.Value(secret.Metadata.Annotations, EnvironmentSecrets.WorldSizeAnnotation), CultureInfo.InvariantCulture, out var n) ? n : 1;
        var hostKey = ObjectFacts.Text(secret, EnvironmentContract.HostKeyPubFile).Trim();
        // --preserve-entrypoint pods keep the image's command: no sshd of ours to shake hands with.
        var preserve = pods.Count > 0 && pods[0].Spec?.Containers?.FirstOrDefault()?.Command is null;
        return await _readiness.StatusAsync(id, worldSize, pods, hostKey, preserve, cancellationToken);
    }

    public async Task RemoveEnvironmentAsync(string reservationId, CancellationToken cancellationToken)
    {
        var id = K8sNames.Checked(reservationId);
        _removing[id] = _time.GetUtcNow();
        await _labeled.DeleteAsync(id, cancellationToken);
        Log.Removed(_logger, id);
    }

    public Task<IReadOnlyList<string>> ListEnvironmentsAsync(CancellationToken cancellationToken) => _labeled.ReservationIdsAsync(cancellationToken);

    /// <inheritdoc cref="ConfigMapSignals.DeliverWarningAsync"/>
    public Task DeliverWarningAsync(string reservationId, string fileName, string message, CancellationToken cancellationToken) =>
        _signals.DeliverWarningAsync(reservationId, fileName, message, cancellationToken);

    public Task ClearWarningsAsync(string reservationId, CancellationToken cancellationToken) => _signals.ClearWarningsAsync(reservationId, cancellationToken);

    /// <inheritdoc cref="ConfigMapSignals.StartJupyterAsync"/>
    public Task<JupyterEndpoint> StartJupyterAsync(string reservationId, CancellationToken cancellationToken) => _signals.StartJupyterAsync(reservationId, cancellationToken);

    /// <inheritdoc cref="ConfigMapSignals.StopJupyterAsync"/>
    public Task StopJupyterAsync(string reservationId, CancellationToken cancellationToken) => _signals.StopJupyterAsync(reservationId, cancellationToken);

    /// <inheritdoc cref="NodeGroups.ListAsync"/>
    public Task<IReadOnlyList<NodeGroup>> ListNodeGroupsAsync(CancellationToken cancellationToken) => _groups.ListAsync(cancellationToken);

    /// <inheritdoc cref="NodeGroups.ReconcileAsync"/>
    public Task ReconcileDemandAsync(IReadOnlyList<NodeDemand> demand, CancellationToken cancellationToken) => _groups.ReconcileAsync(demand, cancellationToken);

    /// <inheritdoc cref="EnvironmentWatch.WatchAsync"/>
    public IAsyncEnumerable<EnvironmentEvent> WatchAsync(CancellationToken cancellationToken) => _watch.WatchAsync(cancellationToken);
}

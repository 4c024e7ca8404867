using System.Text.RegularExpressions;
using GpuDev.Compute.LocalHost.Disks;
using GpuDev.Core.Compute;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.LocalHost;

/// <summary>Runs each rank of a reservation as a podman container on this machine, running the shared
/// <see cref="EnvironmentContract"/> (user <c>dev</c> with sudo, sshd inside with gpu-dev's host key, the contract's variables
/// and mounts). Containers run under podman's conmon, so they outlive ssh sessions and restarts of this server; they are found
/// again by their labels. Each reservation has its own podman network (isolated from the others): ranks resolve each other as
/// <c>&lt;id12&gt;-&lt;rank&gt;</c> and port 29500 is private to it. As root, container root is the owner's uid range
/// (<see cref="OwnerRanges"/>), never host root; run by an ordinary user, rootless podman maps that user to <c>dev</c>.
/// This class checks the calls and orders the steps; each step is a collaborator's (<see cref="EnvironmentCreator"/>,
/// <see cref="EnvironmentProbe"/>, <see cref="RankContainers"/>, <see cref="ReservationNetwork"/>, <see cref="DiskHomes"/>,
/// <see cref="LocalJupyter"/>, <see cref="ExpiryWarnings"/>).</summary>
internal sealed partial class LocalHostProvider : IComputeProvider
{
    private readonly LocalHostOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly string _stateDir;
    private readonly string _dataDir;

    /// <summary>The label value that marks this server's containers and networks (a hash of its StateDir).</summary>
    private readonly string _instance;

    /// <summary>Held while an environment is created or removed, so two calls for one reservation never interleave their steps.</summary>
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Podman _podman;
    private readonly LocalNodes _nodes;
    private readonly DiskHomes _diskHomes;
    private readonly ReservationNetwork _network;
    private readonly RankContainers _containers;
    private readonly EnvironmentCreator _creator;
    private readonly EnvironmentProbe _probe;
    private readonly LocalJupyter _jupyter;
    private readonly ExpiryWarnings _warnings;
    private ImagePreparer? _images;

    /// <param name="disks">The disk store shared with <see cref="LocalHostDiskProvider"/>; null: one over <c>&lt;StateDir&gt;/disks</c>.</param>
    public LocalHostProvider(
        IOptions<LocalHostOptions> options, LocalHostContext context, TimeProvider timeProvider, ILogger<LocalHostProvider> logger, LocalDisks? disks = null)
    {
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;
        _dataDir = context.DataDir;
        _stateDir = _options.StateDir ?? LocalPaths.DefaultStateDir(context.DataDir);
        _instance = LocalPaths.ShortHash(Path.GetFullPath(_stateDir));
        var rootless = !Environment.IsPrivilegedProcess;
        var ports = new PortPicker(_stateDir, _options);
        _podman = new Podman(_options);
        _nodes = new LocalNodes(_options, _podman, rootless, logger);
        _diskHomes = new DiskHomes(disks, _stateDir, rootless, timeProvider, logger);
        _network = new ReservationNetwork(_podman, _options, _instance, rootless);
        _containers = new RankContainers(_podman, _options, ports, _nodes, _instance, rootless, timeProvider, logger);
        _creator = new EnvironmentCreator(_stateDir, _options, rootless, ports, new EnvironmentKeys(_options), _diskHomes, _network, _containers, timeProvider, logger);
        _probe = new EnvironmentProbe(_podman, _options, timeProvider);
        _jupyter = new LocalJupyter(_podman, _options, timeProvider, logger);
        _warnings = new ExpiryWarnings(_podman, logger);
    }

    internal string StateDirForTests => _stateDir;

    public string Name => "local";

    public bool SupportsCustomImages => true;

    public bool SupportsBuildContexts => true;

    private ImagePreparer Images => LazyInitializer.EnsureInitialized(ref _images, () => new ImagePreparer(_podman, _options, _dataDir, _logger));

    /// <summary>The nodes (declared, discovered with nvidia-smi, or one simulated h100:8), after checking once that podman can run
    /// the image here; throws <see cref="OptionsValidationException"/> with what is missing otherwise, so start-up stops.</summary>
    public Task<IReadOnlyList<ComputeNode>> DiscoverNodesAsync(CancellationToken cancellationToken) => _nodes.DiscoverAsync(cancellationToken);

    public async Task<EnvironmentStatus> EnsureEnvironmentAsync(EnvironmentSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ValidateId(spec.ReservationId);
        ValidateKeys(spec.AuthorizedKeys);
        if (spec.Allocations.Count == 0)
        {
            return new EnvironmentStatus(EnvironmentState.Failed, null, "the reservation has no allocation");
        }

        for (var i = 0; i < spec.Allocations.Count; i++)
        {
            if (spec.Allocations[i].Rank != i)
            {
                return new EnvironmentStatus(EnvironmentState.Failed, null, "the allocations must be ranks 0..N-1 in rank order");
            }
        }

        var layout = new EnvironmentLayout(_stateDir, spec.ReservationId);
        if (spec.DiskId is { } diskId)
        {
            if (!LocalDiskStore.IsValidDiskId(diskId))
            {
                throw new ArgumentException("A disk id is 32 lowercase hex characters.", nameof(spec));
            }

            if (spec.Allocations.Count > 1)
            {
                return new EnvironmentStatus(EnvironmentState.Failed, null, "named disks are not supported on multinode reservations yet");
            }

            if (await _diskHomes.ExistingHomeAsync(diskId, cancellationToken).ConfigureAwait(false) is not { } home)
            {
                return new EnvironmentStatus(EnvironmentState.Failed, null, $"disk {diskId} does not exist on this host");
            }

            layout = layout with { DiskHome = home };
        }

        // Checked before anything exists, so a bad variable fails the reservation instead of leaving half an environment.
        _ = EnvironmentContract.Variables(spec, 0, layout.Hostname(0));

        var started = _timeProvider.GetTimestamp();
        var (image, waiting, failure) = await Images.PrepareAsync(spec, BuildDir(spec.ReservationId), cancellationToken).ConfigureAwait(false);
        if (failure is not null)
        {
            return new EnvironmentStatus(EnvironmentState.Failed, null, failure);
        }

        if (image is null)
        {
            return new EnvironmentStatus(EnvironmentState.Starting, null, waiting);
        }

        EnvironmentRecord record;
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var existing = EnvironmentRecordFile.Read(layout);
            if (existing is not null && existing.NodeCount != spec.Allocations.Count)
            {
                return new EnvironmentStatus(EnvironmentState.Failed, null,
                    $"the environment exists with {existing.NodeCount} node(s) but the reservation has {spec.Allocations.Count}");
            }

            if (existing is not null && existing.DiskId != spec.DiskId)
            {
                return new EnvironmentStatus(EnvironmentState.Failed, null,
                    $"the environment exists with {DescribeHome(existing.DiskId)} but the reservation has {DescribeHome(spec.DiskId)}");
            }

            record = await _creator.CreateAsync(spec, layout, existing, image, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }

        var status = await _probe.WaitReadyAsync(layout, record, cancellationToken).ConfigureAwait(false);
        if (status.State == EnvironmentState.Ready)
        {
            Log.Ready(_logger, spec.ReservationId, string.Join(',', record.Ports), (long)_timeProvider.GetElapsedTime(started).TotalMilliseconds);
        }
        else if (status.State == EnvironmentState.Failed)
        {
            Log.Failed(_logger, spec.ReservationId, status.Message ?? "unknown");
        }

        return status;
    }

    public async Task<EnvironmentStatus> GetEnvironmentAsync(string reservationId, CancellationToken cancellationToken)
    {
        ValidateId(reservationId);
        var layout = new EnvironmentLayout(_stateDir, reservationId);
        if (!Directory.Exists(layout.EnvDir))
        {
            return new EnvironmentStatus(EnvironmentState.Absent, null);
        }

        if (EnvironmentRecordFile.Read(layout) is not { } record)
        {
            return new EnvironmentStatus(EnvironmentState.Failed, null, "the environment is incomplete (creation was interrupted)");
        }

        return await _probe.CheckAsync(layout, record, cancellationToken).ConfigureAwait(false);
    }

    public async Task RemoveEnvironmentAsync(string reservationId, CancellationToken cancellationToken)
    {
        ValidateId(reservationId);
        var layout = new EnvironmentLayout(_stateDir, reservationId);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var record = EnvironmentRecordFile.Read(layout);
            var containers = await _containers.RemoveAllAsync(reservationId, cancellationToken).ConfigureAwait(false);
            await _network.RemoveAsync(reservationId, layout, cancellationToken).ConfigureAwait(false);
            if (record?.DiskId is { } diskId)
            {
                // Nothing of the environment runs any more: the disk goes back to root (its data is never deleted here).
                // Before the record goes, so that a Remove repeated after a crash detaches it again.
                await _diskHomes.DetachAsync(layout, diskId, cancellationToken).ConfigureAwait(false);
            }

            await Images.RemoveAsync(reservationId, cancellationToken).ConfigureAwait(false);
            foreach (var dir in new[] { BuildDir(reservationId), layout.EnvDir })
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }

            Log.Removed(_logger, reservationId, containers);
        }
        finally
        {
            _lock.Release();
        }
    }

    public async Task<IReadOnlyList<string>> ListEnvironmentsAsync(CancellationToken cancellationToken)
    {
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        var envs = Path.Combine(_stateDir, "envs");
        if (Directory.Exists(envs))
        {
            foreach (var dir in Directory.EnumerateDirectories(envs))
            {
                var name = Path.GetFileName(dir);
                if (IdPattern().IsMatch(name))
                {
                    ids.Add(name);
                }
            }
        }

        // Containers and networks whose directory is gone (a crash half-way through creation or removal).
        var filter = EnvironmentLayout.InstanceLabel + "=" + _instance;
        var networks = await _podman.NetworkNamesAsync(filter, cancellationToken).ConfigureAwait(false);
        foreach (var id in (await _podman.ContainerLabelValuesAsync(filter, EnvironmentLayout.ReservationLabel, cancellationToken).ConfigureAwait(false))
            .Concat(networks.Select(n => n.StartsWith("gpudev-", StringComparison.Ordinal) ? n["gpudev-".Length..] : n)))
        {
            if (IdPattern().IsMatch(id))
            {
                ids.Add(id);
            }
        }

        return [.. ids];
    }

    public async Task<JupyterEndpoint> StartJupyterAsync(string reservationId, CancellationToken cancellationToken)
    {
        ValidateId(reservationId);
        return await _jupyter.StartAsync(new EnvironmentLayout(_stateDir, reservationId), cancellationToken).ConfigureAwait(false);
    }

    public async Task StopJupyterAsync(string reservationId, CancellationToken cancellationToken)
    {
        ValidateId(reservationId);
        await _jupyter.StopAsync(new EnvironmentLayout(_stateDir, reservationId), cancellationToken).ConfigureAwait(false);
    }

    public async Task DeliverWarningAsync(string reservationId, string fileName, string message, CancellationToken cancellationToken)
    {
        ValidateId(reservationId);
        await _warnings.DeliverAsync(new EnvironmentLayout(_stateDir, reservationId), fileName, message, cancellationToken).ConfigureAwait(false);
    }

    public async Task ClearWarningsAsync(string reservationId, CancellationToken cancellationToken)
    {
        ValidateId(reservationId);
        await _warnings.ClearAsync(new EnvironmentLayout(_stateDir, reservationId), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Where a <c>--dockerfile</c> build unpacks its context (outside the environment directory, which exists only once
    /// the environment is created).</summary>
    private string BuildDir(string reservationId) => Path.Combine(_stateDir, "builds", reservationId);

    private static string DescribeHome(string? diskId) => diskId is null ? "a temporary home" : "disk " + diskId;

    private static void ValidateId(string reservationId)
    {
        if (reservationId is null || !IdPattern().IsMatch(reservationId))
        {
            throw new ArgumentException("A reservation id is 32 lowercase hex characters.", nameof(reservationId));
        }
    }

    private static void ValidateKeys(IReadOnlyList<string> keys)
    {
        foreach (var key in keys)
        {
            if (string.IsNullOrWhiteSpace(key) || key.Contains('\n', StringComparison.Ordinal) || key.Contains('\r', StringComparison.Ordinal) || key.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException("Authorized keys must be single, non-empty lines.", nameof(keys));
            }
        }
    }

    [GeneratedRegex("^[0-9a-f]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}

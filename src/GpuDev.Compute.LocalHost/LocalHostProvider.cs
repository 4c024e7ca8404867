using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
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
/// (<see cref="OwnerRanges"/>), never host root; run by an ordinary user, rootless podman maps that user to <c>dev</c>.</summary>
/// <param name="disks">The disk store shared with <see cref="LocalHostDiskProvider"/>; null: one over <c>&lt;StateDir&gt;/disks</c>.</param>
internal sealed partial class LocalHostProvider(
    IOptions<LocalHostOptions> options,
    LocalHostContext context,
    TimeProvider timeProvider,
    ILogger<LocalHostProvider> logger,
    LocalDisks? disks = null) : IComputeProvider
{
    private const string DefaultSimulatedSpec = "h100:8";
    private const int MaxPortAttempts = 4;

    private readonly LocalHostOptions _options = options.Value;
    private readonly bool _rootless = !Environment.IsPrivilegedProcess;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Podman _podman = new(options.Value);
    private NetworkIsolation? _isolation;
    private ImagePreparer? _images;
    private IReadOnlyList<ComputeNode>? _nodes;
    private LocalDisks? _disks = disks;
    private OwnerRanges? _ranges;

    private string StateDir => _options.StateDir ?? LocalPaths.DefaultStateDir(context.DataDir);

    internal string StateDirForTests => StateDir;

    /// <summary>The label value that marks this server's containers and networks (a hash of its StateDir).</summary>
    private string Instance => LocalPaths.ShortHash(Path.GetFullPath(StateDir));

    private LocalDisks Disks => LazyInitializer.EnsureInitialized(ref _disks, () => LocalDisks.ForStateDir(StateDir, timeProvider, logger));

    private OwnerRanges Ranges => LazyInitializer.EnsureInitialized(ref _ranges, () => new OwnerRanges(StateDir, _options.UidBase));

    private ImagePreparer Images => LazyInitializer.EnsureInitialized(ref _images, () => new ImagePreparer(_podman, _options, context.DataDir, logger));

    private NetworkIsolation Isolation => LazyInitializer.EnsureInitialized(ref _isolation, () => new NetworkIsolation(_podman, _options));

    private IPAddress PublishAddress => LocalHostOptionsValidator.PublishAddressOf(_options) ?? IPAddress.Loopback;

    /// <summary>Where the provider itself reaches published ports (the publish address, or loopback for "every address").</summary>
    private string ProbeHost => PublishAddress.Equals(IPAddress.Any) ? "127.0.0.1" : PublishAddress.Equals(IPAddress.IPv6Any) ? "::1" : PublishAddress.ToString();

    public string Name => "local";

    public bool SupportsCustomImages => true;

    public bool SupportsBuildContexts => true;

    /// <summary>The nodes (declared, discovered with nvidia-smi, or one simulated h100:8), after checking once that podman can run
    /// the image here; throws <see cref="OptionsValidationException"/> with what is missing otherwise, so start-up stops.</summary>
    public async Task<IReadOnlyList<ComputeNode>> DiscoverNodesAsync(CancellationToken cancellationToken)
    {
        if (_nodes is not null)
        {
            return _nodes;
        }

        IReadOnlyList<ComputeNode> nodes;
        if (!string.IsNullOrWhiteSpace(_options.Gpus))
        {
            nodes = LocalGpuSpec.Parse(_options.Gpus);
            Log.GpusDeclared(logger, _options.Gpus);
        }
        else if (ProcessRunner.FindOnPath("nvidia-smi") is { } smi)
        {
            var result = await ProcessRunner.RunAsync(smi, ["--query-gpu=index,name,memory.total", "--format=csv,noheader"], _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            var parsed = result.Succeeded ? NvidiaSmi.ParseQuery(result.StdOut) : null;
            if (parsed is { } gpus)
            {
                nodes = [new ComputeNode("local-0", gpus.GpuType, gpus.Count, Simulated: false)];
                Log.GpusDiscovered(logger, gpus.Count, gpus.GpuType);
            }
            else
            {
                nodes = LocalGpuSpec.Parse(DefaultSimulatedSpec);
                Log.NvidiaSmiFailed(logger, result.Describe("nvidia-smi"), DefaultSimulatedSpec);
            }
        }
        else
        {
            nodes = LocalGpuSpec.Parse(DefaultSimulatedSpec);
            Log.GpusSimulatedByDefault(logger, DefaultSimulatedSpec);
        }

        var problems = await new PodmanCheck(_podman, _options, _rootless).RunAsync(realGpus: nodes.Any(n => !n.Simulated && n.GpuCount > 0), cancellationToken).ConfigureAwait(false);
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(LocalHostOptions.Section, typeof(LocalHostOptions), problems);
        }

        Log.PodmanReady(logger, _podman.Runtime is { Length: > 0 } r ? r : "podman's default", _rootless ? "rootless" : "as root, container root mapped to per-owner uid ranges", _options.DefaultImage);
        _nodes = nodes;
        return nodes;
    }

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

        var layout = new EnvironmentLayout(StateDir, spec.ReservationId);
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

            var store = await Disks.GetAsync(cancellationToken).ConfigureAwait(false);
            if (!Directory.Exists(store.DataDir(diskId)))
            {
                return new EnvironmentStatus(EnvironmentState.Failed, null, $"disk {diskId} does not exist on this host");
            }

            layout = layout with { DiskHome = store.DataDir(diskId) };
        }

        // Checked before anything exists, so a bad variable fails the reservation instead of leaving half an environment.
        _ = EnvironmentContract.Variables(spec, 0, layout.Hostname(0));

        var started = timeProvider.GetTimestamp();
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
            var existing = ReadRecord(layout);
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

            record = await CreateAsync(spec, layout, existing, image, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }

        var status = await WaitReadyAsync(layout, record, cancellationToken).ConfigureAwait(false);
        if (status.State == EnvironmentState.Ready)
        {
            Log.Ready(logger, spec.ReservationId, string.Join(',', record.Ports), (long)timeProvider.GetElapsedTime(started).TotalMilliseconds);
        }
        else if (status.State == EnvironmentState.Failed)
        {
            Log.Failed(logger, spec.ReservationId, status.Message ?? "unknown");
        }

        return status;
    }

    public async Task<EnvironmentStatus> GetEnvironmentAsync(string reservationId, CancellationToken cancellationToken)
    {
        ValidateId(reservationId);
        var layout = new EnvironmentLayout(StateDir, reservationId);
        if (!Directory.Exists(layout.EnvDir))
        {
            return new EnvironmentStatus(EnvironmentState.Absent, null);
        }

        if (ReadRecord(layout) is not { } record)
        {
            return new EnvironmentStatus(EnvironmentState.Failed, null, "the environment is incomplete (creation was interrupted)");
        }

        var ready = true;
        for (var rank = 0; rank < record.NodeCount; rank++)
        {
            if (await ContainerProblemAsync(layout, record, rank, cancellationToken).ConfigureAwait(false) is { } problem)
            {
                return Status(EnvironmentState.Failed, layout, record, problem);
            }

            ready = ready && await HandshakeAsync(layout, record, rank, cancellationToken).ConfigureAwait(false);
        }

        return Status(ready ? EnvironmentState.Ready : EnvironmentState.Starting, layout, record, null);
    }

    public async Task RemoveEnvironmentAsync(string reservationId, CancellationToken cancellationToken)
    {
        ValidateId(reservationId);
        var layout = new EnvironmentLayout(StateDir, reservationId);
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var record = ReadRecord(layout);

            // Every container of the reservation, found by label (also those a crash left before the record was written).
            var containers = await _podman.RunCheckedAsync(
                ["ps", "-a", "--filter", "label=" + EnvironmentLayout.ReservationLabel + "=" + reservationId, "--format", "{{.Names}}"], cancellationToken).ConfigureAwait(false);
            var names = containers.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            if (names.Count > 0)
            {
                await RemoveContainersAsync(names, cancellationToken).ConfigureAwait(false);
            }

            var network = await _podman.RunAsync(["network", "rm", "--force", layout.Network], cancellationToken).ConfigureAwait(false);
            if (!network.Succeeded && !Podman.IsNoSuch(network))
            {
                throw new InvalidOperationException(network.Describe("podman network rm") + Podman.Detail(network));
            }

            if (!_rootless)
            {
                await Isolation.RemoveAsync(reservationId, cancellationToken).ConfigureAwait(false);
            }

            if (record?.DiskId is { } diskId)
            {
                // Nothing of the environment runs any more: the disk goes back to root (its data is never deleted here).
                // Before the record goes, so that a Remove repeated after a crash detaches it again.
                await DetachDiskAsync(layout, diskId, cancellationToken).ConfigureAwait(false);
            }

            await Images.RemoveAsync(reservationId, cancellationToken).ConfigureAwait(false);
            foreach (var dir in new[] { BuildDir(reservationId), layout.EnvDir })
            {
                if (Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }

            Log.Removed(logger, reservationId, names.Count);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Kills and removes the containers. podman 4.3 sometimes fails to unmount a container's /dev/shm at once ("device or
    /// resource busy") right after killing it; the removal is tried again a few times before it counts as failed.</summary>
    private async Task RemoveContainersAsync(IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var result = await _podman.RunAsync(["rm", "--force", "--ignore", "--time", "0", .. names], cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return;
            }

            if (attempt >= 10)
            {
                throw new InvalidOperationException(result.Describe("podman rm") + Podman.Detail(result));
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<string>> ListEnvironmentsAsync(CancellationToken cancellationToken)
    {
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        var envs = Path.Combine(StateDir, "envs");
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
        var filter = EnvironmentLayout.InstanceLabel + "=" + Instance;
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

    /// <summary>Everything of the environment, step by step, each step safe to repeat: the record (ports, uid range), keys and
    /// configuration, homes, the network, then each rank's container (created, or started again when it stopped).</summary>
    private async Task<EnvironmentRecord> CreateAsync(EnvironmentSpec spec, EnvironmentLayout layout, EnvironmentRecord? record, string image, CancellationToken cancellationToken)
    {
        var multinode = spec.Allocations.Count > 1;
        EnsureDir(StateDir, "711");
        EnsureDir(Path.Combine(StateDir, "envs"), "711");
        var isNew = !Directory.Exists(layout.EnvDir);
        EnsureDir(layout.EnvDir, "711");

        // The record is written before any container or network exists: without one, there is nothing to look up.
        var fresh = record is null;
        if (record is null)
        {
            var uidBase = _rootless ? 0 : await Ranges.BaseOfAsync(spec.Owner, cancellationToken).ConfigureAwait(false);
            var ports = new List<int>();
            for (var rank = 0; rank <= spec.Allocations.Count; rank++)
            {
                ports.Add(ChoosePort(layout.ReservationId, ports));
            }

            record = new EnvironmentRecord(
                spec.ReservationId, spec.Owner, ports[..^1], ports[^1], uidBase, image, timeProvider.GetUtcNow(), spec.DiskId, spec.Options.PreserveEntrypoint);
            WriteRecord(layout, record);
        }

        if (isNew)
        {
            Log.Creating(logger, spec.ReservationId, spec.Owner, string.Join(',', record.Ports), record.Image);
        }

        var owner = _rootless ? null : record.DevUid.ToString(CultureInfo.InvariantCulture) + ":" + record.DevUid.ToString(CultureInfo.InvariantCulture);
        var containerRoot = _rootless ? null : record.UidBase.ToString(CultureInfo.InvariantCulture) + ":" + record.UidBase.ToString(CultureInfo.InvariantCulture);

        await WriteKeysAsync(spec, layout, containerRoot, cancellationToken).ConfigureAwait(false);
        EnsureDir(layout.ConfigDir, "755");
        FileWrites.WriteIfChanged(Path.Combine(layout.ConfigDir, EnvironmentContract.EntryFile), EntryScript.Text, "755");

        // The directories the container's dev owns: its temporary homes, /shared, the owner's /shared-personal and /ccache.
        List<string> owned = [layout.SharedPersonal(spec.Owner), layout.Ccache(spec.Owner)];
        EnsureDir(Path.Combine(StateDir, "shared-personal"), "711");
        EnsureDir(Path.Combine(StateDir, "ccache"), "711");
        for (var rank = 0; rank < spec.Allocations.Count; rank++)
        {
            if (layout.Home(rank) == layout.TempHome(rank))
            {
                owned.Add(layout.TempHome(rank));
            }
        }

        if (multinode)
        {
            owned.Add(layout.Shared);
        }

        foreach (var dir in owned)
        {
            EnsureDir(dir, "700");
        }

        if (owner is not null)
        {
            await RunCheckedAsync("chown", [owner, .. owned], cancellationToken).ConfigureAwait(false);
            if (spec.DiskId is { } diskId)
            {
                await AttachDiskAsync(layout, diskId, (int)record.DevUid, cancellationToken).ConfigureAwait(false);
            }
        }

        if (fresh || !await _podman.NetworkExistsAsync(layout.Network, cancellationToken).ConfigureAwait(false))
        {
            var created = await _podman.RunAsync(
                ["network", "create", "--label", EnvironmentLayout.ReservationLabel + "=" + spec.ReservationId,
                 "--label", EnvironmentLayout.InstanceLabel + "=" + Instance, layout.Network], cancellationToken).ConfigureAwait(false);
            if (!created.Succeeded && !await _podman.NetworkExistsAsync(layout.Network, cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException(created.Describe("podman network create") + Podman.Detail(created));
            }
        }

        if (!_rootless)
        {
            await Isolation.IsolateAsync(spec.ReservationId, layout.Network, cancellationToken).ConfigureAwait(false);
        }

        for (var rank = 0; rank < spec.Allocations.Count; rank++)
        {
            record = await StartRankAsync(spec, layout, record, rank, fresh, cancellationToken).ConfigureAwait(false);
        }

        return record;
    }

    /// <summary>The rank's container running: created and started, started again when it stopped, left alone when it runs (then
    /// told to sync, e.g. for new keys). A port taken meanwhile by someone else: another port, a new container.</summary>
    private async Task<EnvironmentRecord> StartRankAsync(
        EnvironmentSpec spec, EnvironmentLayout layout, EnvironmentRecord record, int rank, bool fresh, CancellationToken cancellationToken)
    {
        var name = layout.Container(rank);
        for (var attempt = 1; ; attempt++)
        {
            var state = fresh && attempt == 1 ? null : await _podman.StateAsync(name, cancellationToken).ConfigureAwait(false);
            ProcessResult result;
            if (state is { Status: "running" })
            {
                await SyncAsync(name, cancellationToken).ConfigureAwait(false);
                return record;
            }
            else if (state is not null)
            {
                result = await _podman.RunAsync(["start", name], cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var args = ContainerArgs.Run(spec, layout, record, rank, _podman.RunFlags, PublishAddress, HostResources(), Instance, _rootless, RealGpus(spec));
                result = await _podman.RunAsync(args, cancellationToken).ConfigureAwait(false);
            }

            if (result.Succeeded)
            {
                return record;
            }

            if (state is null && result.StdErr.Contains("already in use", StringComparison.Ordinal) && attempt < MaxPortAttempts)
            {
                continue; // It existed after all (a record lost in a crash): look at it and start it.
            }

            if (!IsPortTaken(result) || attempt >= MaxPortAttempts)
            {
                throw new InvalidOperationException(result.Describe($"starting container {name}") + Podman.Detail(result));
            }

            // The port was free when chosen; someone took it since. The container keeps its port for life: make a new one.
            Log.PortTaken(logger, spec.ReservationId, record.Ports[rank]);
            await _podman.RunAsync(["rm", "--force", "--ignore", "--time", "0", name], cancellationToken).ConfigureAwait(false);
            var taken = record.Ports.Append(record.JupyterPort).ToList();
            record = record.WithPort(rank, ChoosePort(spec.ReservationId, taken));
            if (rank == 0)
            {
                record = record with { JupyterPort = ChoosePort(spec.ReservationId, [.. taken, record.Ports[0]]) };
            }

            WriteRecord(layout, record);
        }
    }

    /// <summary>Host key (one for every rank), authorized keys, Jupyter token and, multinode, the key, known hosts and ssh
    /// configuration the ranks use between themselves; owned by container root (mode 600), mounted read-only.</summary>
    private async Task WriteKeysAsync(EnvironmentSpec spec, EnvironmentLayout layout, string? containerRoot, CancellationToken cancellationToken)
    {
        EnsureDir(layout.KeysDir, "700");
        var hostKey = Path.Combine(layout.KeysDir, EnvironmentContract.HostKeyFile);
        var written = new List<string>();
        if (!File.Exists(hostKey) || !File.Exists(hostKey + ".pub"))
        {
            File.Delete(hostKey);
            File.Delete(hostKey + ".pub");
            await RunCheckedAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", string.Empty, "-C", "gpu-dev-" + spec.ReservationId, "-f", hostKey], cancellationToken).ConfigureAwait(false);
            written.AddRange([hostKey, hostKey + ".pub"]);
        }

        var authorized = spec.AuthorizedKeys.Select(k => k.Trim()).ToList();
        if (spec.Allocations.Count > 1)
        {
            var nodeKey = Path.Combine(layout.KeysDir, EnvironmentContract.NodeKeyFile);
            if (!File.Exists(nodeKey) || !File.Exists(nodeKey + ".pub"))
            {
                File.Delete(nodeKey);
                File.Delete(nodeKey + ".pub");
                await RunCheckedAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", string.Empty, "-C", "gpu-dev-nodes-" + spec.ReservationId, "-f", nodeKey], cancellationToken).ConfigureAwait(false);
                written.AddRange([nodeKey, nodeKey + ".pub"]);
            }

            authorized.Add((await File.ReadAllTextAsync(nodeKey + ".pub", cancellationToken).ConfigureAwait(false)).Trim());
            var pattern = spec.ReservationId[..12] + "-*";
            var hostPublic = ReadPublicKey(hostKey + ".pub") ?? throw new InvalidOperationException("The environment has no host key.");
            if (WriteKey(layout, EnvironmentContract.KnownHostsFile, $"{pattern} {hostPublic}\n"))
            {
                written.Add(Path.Combine(layout.KeysDir, EnvironmentContract.KnownHostsFile));
            }

            var config = $"Host {pattern}\n  User {EnvironmentContract.User}\n  IdentityFile /etc/gpu-dev/{EnvironmentContract.NodeKeyFile}\n" +
                         "  UserKnownHostsFile /etc/gpu-dev/known_hosts\n  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n";
            if (WriteKey(layout, EnvironmentContract.SshConfigFile, config))
            {
                written.Add(Path.Combine(layout.KeysDir, EnvironmentContract.SshConfigFile));
            }
        }

        var tokenFile = Path.Combine(layout.KeysDir, EnvironmentContract.JupyterTokenFile);
        if (!File.Exists(tokenFile) && WriteKey(layout, EnvironmentContract.JupyterTokenFile, RandomNumberGenerator.GetHexString(32, lowercase: true)))
        {
            written.Add(tokenFile);
        }

        if (WriteKey(layout, EnvironmentContract.AuthorizedKeysFile, string.Concat(authorized.Select(k => k + "\n"))))
        {
            written.Add(Path.Combine(layout.KeysDir, EnvironmentContract.AuthorizedKeysFile));
        }

        foreach (var file in written)
        {
            FileWrites.SetMode(file, "600");
        }

        if (containerRoot is not null)
        {
            // Container root reads them: owned by its host uid, like the directory.
            await RunCheckedAsync("chown", ["-R", containerRoot, layout.KeysDir], cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool WriteKey(EnvironmentLayout layout, string name, string content) =>
        FileWrites.WriteIfChanged(Path.Combine(layout.KeysDir, name), content, "600");

    /// <summary>Runs the entry's <c>sync</c> in a running container (keys, warnings, Jupyter); false when it could not.</summary>
    private async Task<bool> SyncAsync(string container, CancellationToken cancellationToken)
    {
        var result = await _podman.RunAsync(["exec", container, "/bin/sh", EnvironmentContract.ConfigPath + "/" + EnvironmentContract.EntryFile, "sync"], cancellationToken).ConfigureAwait(false);
        return result.Succeeded;
    }

    /// <summary>Why the rank's container cannot serve (gone, or exited with its log tail); null while it runs.</summary>
    private async Task<string?> ContainerProblemAsync(EnvironmentLayout layout, EnvironmentRecord record, int rank, CancellationToken cancellationToken)
    {
        var name = layout.Container(rank);
        var state = await _podman.StateAsync(name, cancellationToken).ConfigureAwait(false);
        var node = record.NodeCount > 1 ? $"the container of node {rank.ToString(CultureInfo.InvariantCulture)}" : "the container";
        return state switch
        {
            null => $"{node} ({name}) does not exist",
            { Status: "running" } => null,
            { Status: "created" or "initialized" or "configured" } => null,
            var (status, code) => $"{node} {status} (exit code {code.ToString(CultureInfo.InvariantCulture)}): {await _podman.LogTailAsync(name, cancellationToken).ConfigureAwait(false)}",
        };
    }

    /// <summary>Waits until every rank passed a handshake (Ready), one container has died (Failed) or the time is up (Starting).</summary>
    private async Task<EnvironmentStatus> WaitReadyAsync(EnvironmentLayout layout, EnvironmentRecord record, CancellationToken cancellationToken)
    {
        var start = timeProvider.GetTimestamp();
        var ready = new bool[record.NodeCount];
        for (var round = 0; ; round++)
        {
            for (var rank = 0; rank < record.NodeCount; rank++)
            {
                if (ready[rank])
                {
                    continue;
                }

                ready[rank] = await HandshakeAsync(layout, record, rank, cancellationToken).ConfigureAwait(false);
                if (!ready[rank] && round % 4 == 3 && await ContainerProblemAsync(layout, record, rank, cancellationToken).ConfigureAwait(false) is { } problem)
                {
                    return Status(EnvironmentState.Failed, layout, record, problem);
                }
            }

            if (ready.All(r => r))
            {
                return Status(EnvironmentState.Ready, layout, record, null);
            }

            if (timeProvider.GetElapsedTime(start) >= _options.ReadyTimeout)
            {
                var waiting = string.Join(',', Enumerable.Range(0, record.NodeCount).Where(r => !ready[r]));
                return Status(EnvironmentState.Starting, layout, record,
                    record.NodeCount > 1 ? $"sshd of node(s) {waiting} has not answered an SSH handshake yet" : "sshd has not answered an SSH handshake yet");
            }

            await Task.Delay(_options.PollInterval, timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The status with rank 0's endpoint and, multinode, every rank's endpoint.</summary>
    private EnvironmentStatus Status(EnvironmentState state, EnvironmentLayout layout, EnvironmentRecord record, string? message)
    {
        var hostKey = ReadPublicKey(Path.Combine(layout.KeysDir, EnvironmentContract.HostKeyPubFile));
        var endpoints = record.Ports.Select(port => new Core.Reservations.SshEndpoint(_options.SshHost, port, EnvironmentContract.User, hostKey)).ToList();
        return new EnvironmentStatus(state, endpoints[0], message) { NodeEndpoints = record.NodeCount > 1 ? endpoints : null };
    }

    /// <summary>A real SSH key exchange through the rank's published port, checking that it presents the environment's host key.</summary>
    private async Task<bool> HandshakeAsync(EnvironmentLayout layout, EnvironmentRecord record, int rank, CancellationToken cancellationToken)
    {
        if (record.PreserveEntrypoint)
        {
            return await _podman.StateAsync(layout.Container(rank), cancellationToken).ConfigureAwait(false) is { Status: "running" };
        }

        if (ReadPublicKey(Path.Combine(layout.KeysDir, EnvironmentContract.HostKeyPubFile)) is not { } hostKey)
        {
            return false;
        }

        var scan = await ProcessRunner.RunAsync(
            "ssh-keyscan", ["-T", "2", "-p", record.Ports[rank].ToString(CultureInfo.InvariantCulture), "-t", "ed25519", ProbeHost],
            _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        foreach (var line in scan.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (!line.StartsWith('#') && fields.Length >= 3 && fields[1] + " " + fields[2] == hostKey)
            {
                return true;
            }
        }

        return false;
    }

    private HostResources HostResources()
    {
        var nodes = _nodes ?? [];
        var memory = 8L << 30;
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var fields = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields is { Length: >= 2 } && long.TryParse(fields[1], CultureInfo.InvariantCulture, out var kib))
            {
                memory = kib * 1024;
            }
        }
        catch (IOException)
        {
            // Keep the default.
        }

        return new HostResources(
            Environment.ProcessorCount * _options.ResourceShare, (long)(memory * _options.ResourceShare), nodes.Sum(n => n.GpuCount), Math.Max(nodes.Count, 1));
    }

    /// <summary>Whether the reservation's GPUs are real devices (passed through CDI) rather than simulated.</summary>
    private bool RealGpus(EnvironmentSpec spec) =>
        _nodes?.Any(n => !n.Simulated && n.GpuCount > 0 && spec.Allocations.Any(a => a.Node == n.Name)) == true;

    /// <summary>Where a <c>--dockerfile</c> build unpacks its context (outside the environment directory, which exists only once
    /// the environment is created).</summary>
    private string BuildDir(string reservationId) => Path.Combine(StateDir, "builds", reservationId);

    private static bool IsPortTaken(ProcessResult result) =>
        result.StdErr.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
        || result.StdErr.Contains("port is already allocated", StringComparison.OrdinalIgnoreCase)
        || result.StdErr.Contains("bind", StringComparison.OrdinalIgnoreCase) && result.StdErr.Contains("in use", StringComparison.OrdinalIgnoreCase);

    private int ChoosePort(string reservationId, IEnumerable<int> exclude)
    {
        if (!PortRange.TryParse(_options.PortRange, out var range))
        {
            throw new InvalidOperationException($"Invalid LocalHost:PortRange '{_options.PortRange}'.");
        }

        var used = new HashSet<int>(exclude);
        var envs = Path.Combine(StateDir, "envs");
        foreach (var dir in Directory.Exists(envs) ? Directory.EnumerateDirectories(envs) : [])
        {
            if (Path.GetFileName(dir) != reservationId && ReadRecord(new EnvironmentLayout(StateDir, Path.GetFileName(dir))) is { } other)
            {
                used.UnionWith(other.Ports);
                used.Add(other.JupyterPort);
            }
        }

        // Start at a random offset so that several servers (or test runs) on one host rarely race for a port.
        var offset = Random.Shared.Next(range.Count);
        for (var i = 0; i < range.Count; i++)
        {
            var port = range.First + ((offset + i) % range.Count);
            if (!used.Contains(port) && IsBindable(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"No free port in LocalHost:PortRange {_options.PortRange}.");
    }

    private bool IsBindable(int port)
    {
        try
        {
            using var socket = new Socket(PublishAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(PublishAddress, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>Gives the disk to the container's dev (recursively; skipped when this environment already did: the stamp is written
    /// only after a complete attach).</summary>
    private async Task AttachDiskAsync(EnvironmentLayout layout, string diskId, int uid, CancellationToken cancellationToken)
    {
        var stamp = diskId + " " + uid.ToString(CultureInfo.InvariantCulture) + ":" + uid.ToString(CultureInfo.InvariantCulture) + "\n";
        if (File.Exists(layout.DiskAttachedStamp) && File.ReadAllText(layout.DiskAttachedStamp) == stamp)
        {
            return;
        }

        var store = await Disks.GetAsync(cancellationToken).ConfigureAwait(false);
        await store.AttachAsync(diskId, uid, uid, cancellationToken).ConfigureAwait(false);
        FileWrites.WriteIfChanged(layout.DiskAttachedStamp, stamp, "600");
    }

    /// <summary>Gives the disk back to root (rootless: nothing to give back). A missing disk is only logged, so removal completes.</summary>
    private async Task DetachDiskAsync(EnvironmentLayout layout, string diskId, CancellationToken cancellationToken)
    {
        FileWrites.DeleteIfPresent(layout.DiskAttachedStamp);
        if (_rootless || !LocalDiskStore.IsValidDiskId(diskId))
        {
            return;
        }

        var store = await Disks.GetAsync(cancellationToken).ConfigureAwait(false);
        if (!Directory.Exists(store.DataDir(diskId)))
        {
            Log.RemoveProblem(logger, layout.ReservationId, $"disk {diskId} has no data directory; nothing to detach");
            return;
        }

        await store.DetachAsync(diskId, cancellationToken).ConfigureAwait(false);
    }

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

    private static void EnsureDir(string path, string mode)
    {
        Directory.CreateDirectory(path);
        FileWrites.SetMode(path, mode);
    }

    private async Task RunCheckedAsync(string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var result = await ProcessRunner.RunAsync(fileName, arguments, _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(result.Describe(fileName));
        }
    }

    private static EnvironmentRecord? ReadRecord(EnvironmentLayout layout)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(layout.RecordFile), LocalHostJsonContext.Default.EnvironmentRecord);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    private static void WriteRecord(EnvironmentLayout layout, EnvironmentRecord record) =>
        FileWrites.WriteIfChanged(layout.RecordFile, JsonSerializer.Serialize(record, LocalHostJsonContext.Default.EnvironmentRecord), "600");

    private static string? ReadPublicKey(string path)
    {
        try
        {
            var fields = File.ReadAllText(path).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return fields.Length >= 2 ? fields[0] + " " + fields[1] : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [GeneratedRegex("^[0-9a-f]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();
}

using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using GpuDev.Compute.LocalHost.Disks;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.LocalHost;

/// <summary>Runs each reservation on this machine: its own OS user, home, host key and <c>sshd</c>, sessions in a
/// bubblewrap sandbox when available. A multinode reservation gets one such node per rank (same OS user; own home, host
/// key, sshd port, GPUs and host name <c>&lt;12 hex&gt;-&lt;rank&gt;</c>), a shared <c>/etc/hosts</c>, <c>/shared</c> and a
/// key pair for passwordless SSH between its nodes. A single-node reservation with a named disk
/// (<see cref="EnvironmentSpec.DiskId"/>) gets the disk's data directory as its home instead of a temporary one: attached
/// (given to the reservation's uid) on creation, detached (root-owned again, never deleted) on removal.</summary>
/// <param name="disks">The disk store shared with <see cref="LocalHostDiskProvider"/>; null: one over <c>&lt;StateDir&gt;/disks</c>.</param>
internal sealed partial class LocalHostProvider(
    IOptions<LocalHostOptions> options,
    LocalHostContext context,
    TimeProvider timeProvider,
    ILogger<LocalHostProvider> logger,
    LocalDisks? disks = null) : IComputeProvider
{
    private const string DefaultSimulatedSpec = "h100:8";
    private const int MasterPort = 29500;
    private const int MaxPortAttempts = 4;

    private static readonly string s_startDetached = "exec \"$0\" -D -e -f \"$1\" 2>>\"$2\" </dev/null >/dev/null";

    private readonly LocalHostOptions _options = options.Value;
    private readonly bool _isRoot = Environment.IsPrivilegedProcess;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private IReadOnlyList<ComputeNode>? _nodes;
    private (SandboxMode Mode, bool UnsharePid, string? Error)? _sandbox;
    private bool? _unshareUts;
    private bool _warnedNotRoot;
    private LocalDisks? _disks = disks;

    private string StateDir => _options.StateDir ?? LocalPaths.DefaultStateDir(context.DataDir);

    /// <summary>Tag in the GECOS field of users this StateDir created, so a restart can find them.</summary>
    private string StateKey => LocalPaths.ShortHash(Path.GetFullPath(StateDir));

    private LocalDisks Disks => LazyInitializer.EnsureInitialized(ref _disks, () => LocalDisks.ForStateDir(StateDir, timeProvider, logger));

    public string Name => "local";

    public bool SupportsCustomImages => false;

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

        var started = timeProvider.GetTimestamp();
        var sandbox = await GetSandboxAsync(cancellationToken).ConfigureAwait(false);
        if (sandbox.Error is not null)
        {
            return new EnvironmentStatus(EnvironmentState.Failed, null, sandbox.Error);
        }

        var multinode = spec.Allocations.Count > 1;
        var unshareUts = multinode && sandbox.Mode == SandboxMode.Bubblewrap && await GetUnshareUtsAsync(sandbox.UnsharePid, cancellationToken).ConfigureAwait(false);

        // Without a sandbox the host names resolve only through ~/.ssh/config, so the master is addressed by IP.
        var masterAddress = multinode && sandbox.Mode == SandboxMode.Bubblewrap ? layout.Hostname : "127.0.0.1";
        var sharedDir = !multinode ? null : sandbox.Mode == SandboxMode.Bubblewrap ? "/shared" : layout.Shared;
        var environments = spec.Allocations.Select(a => BuildSessionEnvironment(spec, a.Rank, masterAddress, sharedDir)).ToList();

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        EnvironmentRecord record;
        try
        {
            var existing = ReadRecord(layout);
            if (existing is not null && existing.NodeCount != spec.Allocations.Count)
            {
                return new EnvironmentStatus(
                    EnvironmentState.Failed,
                    null,
                    $"the environment exists with {existing.NodeCount} node(s) but the reservation has {spec.Allocations.Count}");
            }

            if (existing is not null && existing.DiskId != spec.DiskId)
            {
                return new EnvironmentStatus(
                    EnvironmentState.Failed,
                    null,
                    $"the environment exists with {DescribeHome(existing.DiskId)} but the reservation has {DescribeHome(spec.DiskId)}");
            }

            record = await CreateAsync(spec, layout, environments, sandbox, unshareUts, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _lock.Release();
        }

        var status = await WaitReadyAsync(layout, record, cancellationToken).ConfigureAwait(false);
        if (status.State == EnvironmentState.Ready)
        {
            var elapsed = (long)timeProvider.GetElapsedTime(started).TotalMilliseconds;
            if (multinode)
            {
                Log.ReadyMultinode(logger, spec.ReservationId, record.NodeCount, string.Join(',', record.NodePorts!), elapsed);
            }
            else
            {
                Log.Ready(logger, spec.ReservationId, record.Port, elapsed);
            }
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

        var record = ReadRecord(layout);
        if (record is null)
        {
            return new EnvironmentStatus(EnvironmentState.Failed, null, "the environment is incomplete (creation was interrupted)");
        }

        var ready = true;
        for (var rank = 0; rank < record.NodeCount; rank++)
        {
            var node = layout.ForRank(rank);
            if (ProcessTable.FindSshd(node.SshdConfig, _options.SshdPath).Count == 0)
            {
                return Status(EnvironmentState.Failed, layout, record, SshdNotRunning(node, record));
            }

            ready = ready && await HandshakeAsync(node, record.PortOf(rank), cancellationToken).ConfigureAwait(false);
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
            var killed = 0;
            var diskId = ReadRecord(layout)?.DiskId;
            var account = _isRoot ? await LookupUserAsync(layout.UserName, cancellationToken).ConfigureAwait(false) : null;
            var deadline = timeProvider.GetTimestamp();
            var jupyter = ReadJupyter(layout);
            while (true)
            {
                var snapshot = ProcessTable.Snapshot();
                var roots = ProcessTable.FindSshdUnder(layout.EnvDir, _options.SshdPath);
                var victims = ProcessTable.WithDescendants(snapshot, roots);

                // Jupyter is no descendant of sshd (without root it is not told apart by its uid either).
                if (jupyter is not null)
                {
                    victims.UnionWith(JupyterProcesses(jupyter));
                }

                if (account is { } a)
                {
                    // Every process of the reservation's uid, and everything they started (bwrap children keep the uid).
                    victims.UnionWith(ProcessTable.WithDescendants(snapshot, snapshot.Where(e => e.Uid == a.Uid).Select(e => e.Pid)));
                }

                victims.RemoveWhere(pid => snapshot.Any(e => e.Pid == pid && e.State is 'Z' or 'X'));
                victims.Remove(Environment.ProcessId);
                if (victims.Count == 0)
                {
                    break;
                }

                if (timeProvider.GetElapsedTime(deadline) > _options.StopTimeout)
                {
                    throw new InvalidOperationException($"Processes of environment {reservationId} survived SIGKILL: {string.Join(',', victims)}");
                }

                killed += victims.Count;
                await ProcessRunner.RunAsync("kill", ["-KILL", .. victims.Select(p => p.ToString(CultureInfo.InvariantCulture))], _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                if (account is { } owner)
                {
                    await ProcessRunner.RunAsync("pkill", ["-KILL", "-u", owner.Uid.ToString(CultureInfo.InvariantCulture)], _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                }

                await Task.Delay(_options.PollInterval, timeProvider, cancellationToken).ConfigureAwait(false);
            }

            if (diskId is not null)
            {
                // Nothing of the environment runs any more: the disk goes back to root (its data is never deleted here).
                // Before the record goes, so that a Remove repeated after a crash detaches it again.
                await DetachDiskAsync(layout, diskId, cancellationToken).ConfigureAwait(false);
            }

            if (account is not null)
            {
                var del = await ProcessRunner.RunAsync("userdel", [layout.UserName], _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                if (!del.Succeeded && del.ExitCode != 6)
                {
                    throw new InvalidOperationException(del.Describe("userdel " + layout.UserName));
                }
            }

            if (Directory.Exists(layout.EnvDir))
            {
                Directory.Delete(layout.EnvDir, recursive: true);
            }

            Log.Removed(logger, reservationId, killed);
        }
        finally
        {
            _lock.Release();
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

        if (_isRoot)
        {
            // Users whose environment directory is gone (a crash half-way through creation or removal).
            var passwd = await ProcessRunner.RunAsync("getent", ["passwd"], _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            var tag = "gpu-dev " + StateKey + " ";
            foreach (var line in passwd.StdOut.Split('\n'))
            {
                var fields = line.Split(':');
                if (fields.Length >= 7 && fields[4].StartsWith(tag, StringComparison.Ordinal) && IdPattern().IsMatch(fields[4][tag.Length..]))
                {
                    ids.Add(fields[4][tag.Length..]);
                }
            }
        }

        return [.. ids];
    }

    private async Task<EnvironmentRecord> CreateAsync(
        EnvironmentSpec spec,
        EnvironmentLayout layout,
        List<List<KeyValuePair<string, string>>> environments,
        (SandboxMode Mode, bool UnsharePid, string? Error) sandbox,
        bool unshareUts,
        CancellationToken cancellationToken)
    {
        var nodeCount = spec.Allocations.Count;
        var multinode = nodeCount > 1;
        var nodes = Enumerable.Range(0, nodeCount).Select(layout.ForRank).ToList();
        Directory.CreateDirectory(StateDir);
        SetMode(StateDir, "711");
        Directory.CreateDirectory(Path.Combine(StateDir, "envs"));
        SetMode(Path.Combine(StateDir, "envs"), "711");
        var isNew = !Directory.Exists(layout.EnvDir);
        Directory.CreateDirectory(layout.EnvDir);
        SetMode(layout.EnvDir, "711");
        foreach (var node in nodes.Skip(1))
        {
            Directory.CreateDirectory(node.NodeDir);
            SetMode(node.NodeDir, "711");
        }

        var user = _isRoot ? layout.UserName : Environment.UserName;
        var record = ReadRecord(layout);
        if (record is null)
        {
            var ports = new List<int>();
            for (var rank = 0; rank < nodeCount; rank++)
            {
                ports.Add(ChoosePort(layout.ReservationId, ports));
            }

            record = new EnvironmentRecord(spec.ReservationId, spec.Owner, ports[0], user, timeProvider.GetUtcNow(), multinode ? ports : null, spec.DiskId);
            WriteRecord(layout, record);
        }

        if (isNew)
        {
            Log.Creating(logger, spec.ReservationId, spec.Owner, record.Port, user);
        }

        // The OS user (one for every rank), its group (shared by the owner's environments, for /shared-personal), a home per rank
        // (with a disk, rank 0's stays empty: it is only the passwd home outside the sandbox; sessions get the disk).
        foreach (var node in nodes)
        {
            Directory.CreateDirectory(node.NodeHome);
        }

        var sharedPersonal = layout.SharedPersonal(spec.Owner);
        Directory.CreateDirectory(sharedPersonal);
        Directory.CreateDirectory(layout.Ccache);
        if (multinode)
        {
            Directory.CreateDirectory(layout.Shared);
        }

        if (spec is { RecreateEnv: true, DiskId: { } recreateDiskId })
        {
            // Before the disk is attached (and before sshd starts), so no process of the reservation's user runs yet.
            await RecreateEnvOnceAsync(layout, recreateDiskId, cancellationToken).ConfigureAwait(false);
        }

        if (_isRoot)
        {
            var group = EnvironmentLayout.OwnerGroup(spec.Owner);
            await RunCheckedAsync("groupadd", ["-f", group], cancellationToken).ConfigureAwait(false);
            var account = await LookupUserAsync(layout.UserName, cancellationToken).ConfigureAwait(false);
            var comment = "gpu-dev " + StateKey + " " + spec.ReservationId;
            if (account is null)
            {
                await RunCheckedAsync("useradd", ["-M", "-g", group, "-p", "*", "-s", "/bin/bash", "-d", layout.PasswdHome, "-c", comment, layout.UserName], cancellationToken).ConfigureAwait(false);
                account = await LookupUserAsync(layout.UserName, cancellationToken).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"useradd did not create {layout.UserName}");
            }
            else if (account.Value.Comment != comment)
            {
                throw new InvalidOperationException($"OS user {layout.UserName} already exists for something else ({account.Value.Comment}).");
            }

            var owner = account.Value.Uid.ToString(CultureInfo.InvariantCulture) + ":" + account.Value.Gid.ToString(CultureInfo.InvariantCulture);
            List<string> owned = [.. nodes.Select(n => n.NodeHome)];
            if (multinode)
            {
                owned.Add(layout.Shared);
            }

            await RunCheckedAsync("chown", [owner, .. owned], cancellationToken).ConfigureAwait(false);
            await RunCheckedAsync("chown", ["root:" + group, sharedPersonal], cancellationToken).ConfigureAwait(false);
            SetMode(sharedPersonal, "2770");
            SetMode(Path.Combine(StateDir, "shared-personal"), "711");
            if (multinode)
            {
                await EnsureNodeKeyAsync(layout, owner, cancellationToken).ConfigureAwait(false);
            }

            if (spec.DiskId is { } diskId)
            {
                await AttachDiskAsync(layout, diskId, account.Value.Uid, account.Value.Gid, cancellationToken).ConfigureAwait(false);
            }
        }
        else
        {
            if (!_warnedNotRoot)
            {
                _warnedNotRoot = true;
                Log.NotRoot(logger, user);
            }

            if (multinode)
            {
                await EnsureNodeKeyAsync(layout, null, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var node in nodes)
        {
            SetMode(node.NodeHome, "700");
        }

        if (multinode)
        {
            SetMode(layout.Shared, "700");
        }

        SetMode(layout.Ccache, "1777");

        // Host keys, authorized keys, sshd_config and the ForceCommand scripts (all root-owned, not writable by the user).
        foreach (var node in nodes)
        {
            if (!File.Exists(node.HostKey) || !File.Exists(node.HostKeyPub))
            {
                File.Delete(node.HostKey);
                File.Delete(node.HostKeyPub);
                var comment = "gpu-dev-" + spec.ReservationId + (multinode ? "-" + node.Rank.ToString(CultureInfo.InvariantCulture) : string.Empty);
                await RunCheckedAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", string.Empty, "-C", comment, "-f", node.HostKey], cancellationToken).ConfigureAwait(false);
            }
        }

        var authorized = spec.AuthorizedKeys.Select(k => k.Trim()).ToList();
        if (multinode)
        {
            authorized.Add((await File.ReadAllTextAsync(layout.NodeKeyPub, cancellationToken).ConfigureAwait(false)).Trim());
            WriteFileIfChanged(layout.HostsFile, SessionFiles.HostsFile([.. nodes.Select(n => n.Hostname)]), "644");
        }

        WriteFileIfChanged(layout.AuthorizedKeys, string.Concat(authorized.Select(k => k + "\n")), "644");
        foreach (var node in nodes)
        {
            var nodeSandbox = multinode ? new NodeSandbox(node.Hostname, unshareUts, layout.HostsFile, layout.Shared) : null;
            IReadOnlyList<string>? bwrap = sandbox.Mode == SandboxMode.Bubblewrap
                ? SessionFiles.BubblewrapCommand(
                    _options.BwrapPath, node, sharedPersonal, [context.DataDir, StateDir], spec.Allocations[node.Rank].GpuIndices, sandbox.UnsharePid, nodeSandbox)
                : null;
            WriteFileIfChanged(node.EnterScript, SessionFiles.EnterScript(bwrap, node.Home), "755");
        }

        foreach (var node in nodes)
        {
            record = await StartNodeAsync(node, record, user, environments[node.Rank], cancellationToken).ConfigureAwait(false);
        }

        if (multinode)
        {
            // After the sshd start: a port taken by someone else changes the rank's port, and so the client config.
            await InstallSshClientAsync(layout, nodes, record, user, cancellationToken).ConfigureAwait(false);
        }

        return record;
    }

    /// <summary>Writes the rank's sshd_config and starts its sshd (another port when its port is taken), or reloads it.</summary>
    private async Task<EnvironmentRecord> StartNodeAsync(
        EnvironmentLayout node,
        EnvironmentRecord record,
        string user,
        List<KeyValuePair<string, string>> environment,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = record.PortOf(node.Rank);
            var configChanged = WriteFileIfChanged(node.SshdConfig, SessionFiles.SshdConfig(node, port, user, environment), "644");
            var running = ProcessTable.FindSshd(node.SshdConfig, _options.SshdPath);
            if (running.Count > 0 && !configChanged)
            {
                return record;
            }

            if (running.Count > 0)
            {
                // Keys or variables changed: reload (existing sessions keep running).
                await ProcessRunner.RunAsync("kill", ["-HUP", running[0].ToString(CultureInfo.InvariantCulture)], _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                return record;
            }

            if (await StartSshdAsync(node, cancellationToken).ConfigureAwait(false) || attempt >= MaxPortAttempts)
            {
                Log.SshdStarted(logger, record.ReservationId, port);
                return record;
            }

            Log.PortTaken(logger, record.ReservationId, port);
            var taken = Enumerable.Range(0, record.NodeCount).Select(record.PortOf).ToList();
            record = record.WithPort(node.Rank, ChoosePort(node.ReservationId, taken));
            WriteRecord(node, record);
        }
    }

    /// <summary>The reservation's key pair for SSH between its nodes, readable only by its uid (<paramref name="owner"/>).</summary>
    private async Task EnsureNodeKeyAsync(EnvironmentLayout layout, string? owner, CancellationToken cancellationToken)
    {
        if (!File.Exists(layout.NodeKey) || !File.Exists(layout.NodeKeyPub))
        {
            File.Delete(layout.NodeKey);
            File.Delete(layout.NodeKeyPub);
            await RunCheckedAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", string.Empty, "-C", "gpu-dev-nodes-" + layout.ReservationId, "-f", layout.NodeKey], cancellationToken).ConfigureAwait(false);
        }

        if (owner is not null)
        {
            await RunCheckedAsync("chown", [owner, layout.NodeKey], cancellationToken).ConfigureAwait(false);
        }

        SetMode(layout.NodeKey, "600");
        SetMode(layout.NodeKeyPub, "644");
    }

    /// <summary>Writes the reservation's ssh client config and known hosts and copies them, with the node key, into every rank's
    /// <c>~/.ssh</c> as the reservation's user (never as root into a directory the user controls). A rank whose stamp
    /// matches is left alone, so edits survive a repeated Ensure.</summary>
    private async Task InstallSshClientAsync(EnvironmentLayout layout, List<EnvironmentLayout> nodes, EnvironmentRecord record, string user, CancellationToken cancellationToken)
    {
        var config = SessionFiles.SshClientConfig(layout.ReservationId, [.. nodes.Select(n => (n.Hostname, record.PortOf(n.Rank)))], user);
        var knownHosts = SessionFiles.SshKnownHosts([.. nodes.Select(n => (n.Hostname, ReadHostKey(n) ?? throw new InvalidOperationException($"No host key for node {n.Rank}.")))]);
        WriteFileIfChanged(layout.SshClientConfig, config, "644");
        WriteFileIfChanged(layout.SshKnownHosts, knownHosts, "644");
        var stamp = LocalPaths.ShortHash(config + "\0" + knownHosts + "\0" + await File.ReadAllTextAsync(layout.NodeKeyPub, cancellationToken).ConfigureAwait(false));
        foreach (var node in nodes)
        {
            if (File.Exists(node.SshClientStamp) && (await File.ReadAllTextAsync(node.SshClientStamp, cancellationToken).ConfigureAwait(false)).Trim() == stamp)
            {
                continue;
            }

            List<string> script =
            [
                "/bin/sh", "-c", SessionFiles.InstallSshClientScript, "sh", node.Home,
                layout.NodeKey, SessionFiles.NodeKeyName,
                layout.NodeKeyPub, SessionFiles.NodeKeyName + ".pub",
                layout.SshClientConfig, "config",
                layout.SshKnownHosts, SessionFiles.NodeKnownHostsName,
            ];
            var result = _isRoot
                ? await ProcessRunner.RunAsync("runuser", ["-u", user, "--", .. script], _options.CommandTimeout, cancellationToken).ConfigureAwait(false)
                : await ProcessRunner.RunAsync(script[0], script.Skip(1), _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                throw new InvalidOperationException(result.Describe($"installing ~/.ssh for node {node.Rank.ToString(CultureInfo.InvariantCulture)}") + " " + result.StdErr.Trim());
            }

            WriteFileIfChanged(node.SshClientStamp, stamp + "\n", "644");
        }
    }

    /// <summary>Starts sshd detached (own session, reparented to init); false when it could not bind its port.</summary>
    private async Task<bool> StartSshdAsync(EnvironmentLayout layout, CancellationToken cancellationToken)
    {
        if (_isRoot && !Directory.Exists("/run/sshd"))
        {
            Directory.CreateDirectory("/run/sshd");
            SetMode("/run/sshd", "755");
        }

        var logOffset = File.Exists(layout.LogFile) ? new FileInfo(layout.LogFile).Length : 0;
        File.Delete(layout.PidFile);
        await RunCheckedAsync("setsid", ["-f", "/bin/sh", "-c", s_startDetached, _options.SshdPath, layout.SshdConfig, layout.LogFile], cancellationToken).ConfigureAwait(false);

        // sshd writes its pid file once it listens; it exits at once when the port is taken.
        var start = timeProvider.GetTimestamp();
        while (timeProvider.GetElapsedTime(start) < _options.ReadyTimeout)
        {
            if (File.Exists(layout.PidFile))
            {
                return true;
            }

            var log = ReadLogFrom(layout.LogFile, logOffset);
            if (log.Contains("Address already in use", StringComparison.Ordinal) || log.Contains("Cannot bind any address", StringComparison.Ordinal))
            {
                await StopSshdAsync(layout, cancellationToken).ConfigureAwait(false);
                return false;
            }

            if (ProcessTable.FindSshd(layout.SshdConfig, _options.SshdPath).Count == 0 && timeProvider.GetElapsedTime(start) > TimeSpan.FromSeconds(1))
            {
                return true; // Exited for another reason: reported as Failed with the log tail.
            }

            await Task.Delay(_options.PollInterval / 3, timeProvider, cancellationToken).ConfigureAwait(false);
        }

        return true;
    }

    private async Task StopSshdAsync(EnvironmentLayout layout, CancellationToken cancellationToken)
    {
        var pids = ProcessTable.FindSshd(layout.SshdConfig, _options.SshdPath);
        if (pids.Count > 0)
        {
            await ProcessRunner.RunAsync("kill", ["-KILL", .. pids.Select(p => p.ToString(CultureInfo.InvariantCulture))], _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until every rank's sshd passed a handshake (Ready), one has died (Failed) or the time is up (Starting).</summary>
    private async Task<EnvironmentStatus> WaitReadyAsync(EnvironmentLayout layout, EnvironmentRecord record, CancellationToken cancellationToken)
    {
        var start = timeProvider.GetTimestamp();
        var sawNoSshd = new int[record.NodeCount];
        var ready = new bool[record.NodeCount];
        while (true)
        {
            for (var rank = 0; rank < record.NodeCount; rank++)
            {
                if (ready[rank])
                {
                    continue;
                }

                var node = layout.ForRank(rank);
                if (ProcessTable.FindSshd(node.SshdConfig, _options.SshdPath).Count == 0)
                {
                    // Allow for the moment between setsid and exec.
                    if (++sawNoSshd[rank] >= 3)
                    {
                        return Status(EnvironmentState.Failed, layout, record, SshdNotRunning(node, record));
                    }
                }
                else
                {
                    ready[rank] = await HandshakeAsync(node, record.PortOf(rank), cancellationToken).ConfigureAwait(false);
                }
            }

            if (ready.All(r => r))
            {
                return Status(EnvironmentState.Ready, layout, record, null);
            }

            if (timeProvider.GetElapsedTime(start) >= _options.ReadyTimeout)
            {
                var waiting = string.Join(',', Enumerable.Range(0, record.NodeCount).Where(r => !ready[r]));
                return Status(
                    EnvironmentState.Starting,
                    layout,
                    record,
                    record.NodeCount > 1 ? $"sshd of node(s) {waiting} has not answered an SSH handshake yet" : "sshd has not answered an SSH handshake yet");
            }

            await Task.Delay(_options.PollInterval, timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The status with rank 0's endpoint and, multinode, every rank's endpoint.</summary>
    private EnvironmentStatus Status(EnvironmentState state, EnvironmentLayout layout, EnvironmentRecord record, string? message)
    {
        var endpoints = Enumerable.Range(0, record.NodeCount).Select(rank => Endpoint(layout.ForRank(rank), record)).ToList();
        return new EnvironmentStatus(state, endpoints[0], message) { NodeEndpoints = record.NodePorts is null ? null : endpoints };
    }

    private static string SshdNotRunning(EnvironmentLayout node, EnvironmentRecord record) =>
        (record.NodeCount > 1 ? $"sshd of node {node.Rank.ToString(CultureInfo.InvariantCulture)} is not running: " : "sshd is not running: ") + LogTail(node);

    /// <summary>A real SSH key exchange with the environment's sshd, checking that it presents the environment's host key.</summary>
    private async Task<bool> HandshakeAsync(EnvironmentLayout layout, int port, CancellationToken cancellationToken)
    {
        var hostKey = ReadHostKey(layout);
        if (hostKey is null)
        {
            return false;
        }

        var scan = await ProcessRunner.RunAsync(
            "ssh-keyscan", ["-T", "2", "-p", port.ToString(CultureInfo.InvariantCulture), "-t", "ed25519", "127.0.0.1"],
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

    private SshEndpoint Endpoint(EnvironmentLayout node, EnvironmentRecord record) =>
        new(_options.SshHost, record.PortOf(node.Rank), record.User, ReadHostKey(node));

    private static string? ReadHostKey(EnvironmentLayout layout)
    {
        try
        {
            var fields = File.ReadAllText(layout.HostKeyPub).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return fields.Length >= 2 ? fields[0] + " " + fields[1] : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private int ChoosePort(string reservationId, IEnumerable<int> exclude)
    {
        if (!PortRange.TryParse(_options.PortRange, out var range))
        {
            throw new InvalidOperationException($"Invalid LocalHost:PortRange '{_options.PortRange}'.");
        }

        var used = new HashSet<int>();
        var envs = Path.Combine(StateDir, "envs");
        foreach (var dir in Directory.Exists(envs) ? Directory.EnumerateDirectories(envs) : [])
        {
            var otherLayout = new EnvironmentLayout(StateDir, Path.GetFileName(dir));
            if (Path.GetFileName(dir) != reservationId && ReadRecord(otherLayout) is { } other)
            {
                used.Add(other.Port);
                used.UnionWith(other.NodePorts ?? []);
            }

            if (ReadJupyter(otherLayout) is { } jupyter)
            {
                used.Add(jupyter.Port);
            }
        }

        used.UnionWith(exclude);

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

    private static bool IsBindable(int port)
    {
        foreach (var address in new[] { IPAddress.Any, IPAddress.Loopback })
        {
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(address, port));
            }
            catch (SocketException)
            {
                return false;
            }
        }

        return true;
    }

    private async Task<(SandboxMode Mode, bool UnsharePid, string? Error)> GetSandboxAsync(CancellationToken cancellationToken)
    {
        if (_sandbox is { } known)
        {
            return known;
        }

        var choice = Enum.Parse<LocalHostOptionsValidator.SandboxChoice>(_options.Sandbox, ignoreCase: true);
        (SandboxMode, bool, string?) result;
        if (choice == LocalHostOptionsValidator.SandboxChoice.None)
        {
            result = (SandboxMode.None, false, null);
            Log.SandboxChosen(logger, "none", "configured; sessions see the host file system and HOME is the environment's home directory");
        }
        else if (await ProbeBubblewrapAsync(unsharePid: true, cancellationToken).ConfigureAwait(false))
        {
            result = (SandboxMode.Bubblewrap, true, null);
            Log.SandboxChosen(logger, "bubblewrap", "with a PID namespace");
        }
        else if (await ProbeBubblewrapAsync(unsharePid: false, cancellationToken).ConfigureAwait(false))
        {
            result = (SandboxMode.Bubblewrap, false, null);
            Log.SandboxChosen(logger, "bubblewrap", "without a PID namespace (--unshare-pid does not work here)");
        }
        else if (choice == LocalHostOptionsValidator.SandboxChoice.Bubblewrap)
        {
            result = (SandboxMode.None, false, $"LocalHost:Sandbox is bubblewrap but {_options.BwrapPath} does not work for an unprivileged user on this host");
        }
        else
        {
            result = (SandboxMode.None, false, null);
            Log.SandboxChosen(logger, "none", "bubblewrap is missing or does not work for an unprivileged user");
        }

        _sandbox = result;
        return result;
    }

    /// <summary>Whether bubblewrap can give a rank its own host name (<c>--unshare-uts --hostname</c>) here.</summary>
    private async Task<bool> GetUnshareUtsAsync(bool unsharePid, CancellationToken cancellationToken)
    {
        _unshareUts ??= await ProbeBubblewrapAsync(unsharePid, cancellationToken, ["--unshare-uts", "--hostname", "gpu-dev-probe"]).ConfigureAwait(false);
        return _unshareUts.Value;
    }

    /// <summary>Runs a tiny sandbox as an unprivileged user (nobody when we are root), as sessions will.</summary>
    private async Task<bool> ProbeBubblewrapAsync(bool unsharePid, CancellationToken cancellationToken, IReadOnlyList<string>? extra = null)
    {
        if (!File.Exists(_options.BwrapPath))
        {
            return false;
        }

        List<string> bwrap = [_options.BwrapPath, "--die-with-parent", .. extra ?? []];
        bwrap.AddRange(unsharePid ? ["--unshare-pid", "--ro-bind", "/", "/", "--proc", "/proc"] : ["--ro-bind", "/", "/"]);
        bwrap.AddRange(["--dev", "/dev", "--tmpfs", "/tmp", "/bin/true"]);
        var result = _isRoot && ProcessRunner.FindOnPath("runuser") is { } runuser
            ? await ProcessRunner.RunAsync(runuser, ["-u", "nobody", "--", .. bwrap], _options.CommandTimeout, cancellationToken).ConfigureAwait(false)
            : await ProcessRunner.RunAsync(bwrap[0], bwrap.Skip(1), _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        return result.Succeeded;
    }

    /// <summary>The variables of rank <paramref name="rank"/>'s sessions: its GPUs, the torch.distributed rendezvous, the user's own.</summary>
    private static List<KeyValuePair<string, string>> BuildSessionEnvironment(EnvironmentSpec spec, int rank, string masterAddress, string? sharedDir)
    {
        var gpus = spec.Allocations[rank].GpuIndices;
        var visible = gpus.Count > 0 ? string.Join(',', gpus.Select(i => i.ToString(CultureInfo.InvariantCulture))) : null;
        var rankText = rank.ToString(CultureInfo.InvariantCulture);
        var worldSize = spec.Allocations.Count.ToString(CultureInfo.InvariantCulture);
        List<KeyValuePair<string, string>> vars =
        [
            new("CUDA_VISIBLE_DEVICES", visible ?? string.Empty),
            new("NVIDIA_VISIBLE_DEVICES", visible ?? "none"),
            new("RANK", rankText),
            new("WORLD_SIZE", worldSize),
            new("MASTER_ADDR", masterAddress),
            new("MASTER_PORT", MasterPort.ToString(CultureInfo.InvariantCulture)),
            new("GPU_DEV_NODE_RANK", rankText),
            new("GPU_DEV_NUM_NODES", worldSize),
            new("GPU_DEV_RESERVATION_ID", spec.ReservationId),
            new("GPU_DEV_GPU_TYPE", spec.GpuType),
            new("CCACHE_DIR", "/ccache"),
            new("CCACHE_UMASK", "002"),
        ];
        if (sharedDir is not null)
        {
            // Multinode: the directory shared by the nodes (/shared in the sandbox, the host path without one).
            vars.Add(new("GPU_DEV_SHARED_DIR", sharedDir));
        }

        var reserved = vars.Select(v => v.Key).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, value) in spec.Environment.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (!EnvNamePattern().IsMatch(name) || !SafeEnvValuePattern().IsMatch(value))
            {
                throw new ArgumentException($"Environment variable '{name}' has an unsupported name or value (no quotes, backslashes or control characters).", nameof(spec));
            }

            if (!reserved.Contains(name))
            {
                vars.Add(new(name, value));
            }
        }

        foreach (var (name, value) in vars)
        {
            if (!SafeEnvValuePattern().IsMatch(value))
            {
                throw new ArgumentException($"Environment variable '{name}' has an unsupported value.", nameof(spec));
            }
        }

        return vars;
    }

    /// <summary>Gives the disk to the reservation's uid (recursively; skipped when this environment already attached it to
    /// that uid: the stamp is written only after a complete attach).</summary>
    private async Task AttachDiskAsync(EnvironmentLayout layout, string diskId, int uid, int gid, CancellationToken cancellationToken)
    {
        var stamp = diskId + " " + uid.ToString(CultureInfo.InvariantCulture) + ":" + gid.ToString(CultureInfo.InvariantCulture) + "\n";
        if (File.Exists(layout.DiskAttachedStamp) && File.ReadAllText(layout.DiskAttachedStamp) == stamp)
        {
            return;
        }

        var store = await Disks.GetAsync(cancellationToken).ConfigureAwait(false);
        await store.AttachAsync(diskId, uid, gid, cancellationToken).ConfigureAwait(false);
        WriteFileIfChanged(layout.DiskAttachedStamp, stamp, "600");
    }

    /// <summary>For <see cref="EnvironmentSpec.RecreateEnv"/>: moves the disk's shell dotfiles into a backup folder and puts
    /// fresh ones from /etc/skel, once per reservation (the stamp is written only after the store has done it; a crash in
    /// between redoes it, which only moves the fresh dotfiles into a second backup folder).</summary>
    private async Task RecreateEnvOnceAsync(EnvironmentLayout layout, string diskId, CancellationToken cancellationToken)
    {
        var stamp = diskId + "\n";
        if (File.Exists(layout.EnvRecreatedStamp) && File.ReadAllText(layout.EnvRecreatedStamp) == stamp)
        {
            return;
        }

        var store = await Disks.GetAsync(cancellationToken).ConfigureAwait(false);
        await store.RecreateDotfilesAsync(diskId, cancellationToken).ConfigureAwait(false);
        WriteFileIfChanged(layout.EnvRecreatedStamp, stamp, "600");
    }

    /// <summary>Gives the disk back to root (not root ourselves: nothing to give back). A missing disk is only logged, so
    /// that removal still completes.</summary>
    private async Task DetachDiskAsync(EnvironmentLayout layout, string diskId, CancellationToken cancellationToken)
    {
        File.Delete(layout.DiskAttachedStamp);
        if (!_isRoot || !LocalDiskStore.IsValidDiskId(diskId))
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

    /// <summary>The layout with rank 0's home on the record's disk, if it has one.</summary>
    private EnvironmentLayout WithDisk(EnvironmentLayout layout, EnvironmentRecord? record) =>
        record?.DiskId is { } diskId && LocalDiskStore.IsValidDiskId(diskId) ? layout with { DiskHome = Disks.Store.DataDir(diskId) } : layout;

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

    private async Task<(int Uid, int Gid, string Comment)?> LookupUserAsync(string name, CancellationToken cancellationToken)
    {
        var result = await ProcessRunner.RunAsync("getent", ["passwd", name], _options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        var fields = result.StdOut.Trim().Split(':');
        return result.Succeeded && fields.Length >= 7
            ? (int.Parse(fields[2], CultureInfo.InvariantCulture), int.Parse(fields[3], CultureInfo.InvariantCulture), fields[4])
            : null;
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
        WriteFileIfChanged(layout.RecordFile, JsonSerializer.Serialize(record, LocalHostJsonContext.Default.EnvironmentRecord), "600");

    /// <summary>Writes atomically (temp file and rename) when the content differs; true when it wrote.</summary>
    private static bool WriteFileIfChanged(string path, string content, string mode)
    {
        if (File.Exists(path) && File.ReadAllText(path) == content)
        {
            return false;
        }

        var temp = path + ".tmp";
        File.WriteAllText(temp, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        SetMode(temp, mode);
        File.Move(temp, path, overwrite: true);
        return true;
    }

    private static void SetMode(string path, string octal)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("The local-host provider runs on Linux.");
        }

        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32(octal, 8));
    }

    private static string LogTail(EnvironmentLayout layout)
    {
        var text = ReadLogFrom(layout.LogFile, 0);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "no sshd log" : string.Join(" | ", lines.TakeLast(3));
    }

    private static string ReadLogFrom(string path, long offset)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (offset > 0 && offset <= stream.Length)
            {
                stream.Seek(offset, SeekOrigin.Begin);
            }

            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }

    [GeneratedRegex("^[0-9a-f]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvNamePattern();

    [GeneratedRegex("^[^\"\\\\\\x00-\\x1f\\x7f]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SafeEnvValuePattern();
}

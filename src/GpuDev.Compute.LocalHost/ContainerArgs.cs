using System.Globalization;
using System.Net;
using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost;

/// <summary>The host facts a container's limits are computed from.</summary>
/// <param name="HostGpus">GPUs of every node of this host (simulated nodes all live here).</param>
/// <param name="Nodes">Nodes of this host, for CPU-only types (each node stands for an equal part of it).</param>
internal sealed record HostResources(double Cpus, long MemoryBytes, int HostGpus, int Nodes);

/// <summary>The <c>podman run</c> arguments of one rank (pure: the same inputs give the same container). The container: named
/// and labelled after the reservation, detached, on the reservation's own network with its rank's host name as an alias,
/// container root mapped to the owner's uid range (never host root), no extra capabilities, its GPUs' share of the host's
/// CPUs and memory, sshd (and on rank 0 Jupyter) published on the publish address only, the contract's mounts and
/// variables, the entry script as its command (unless <c>--preserve-entrypoint</c>).</summary>
internal static class ContainerArgs
{
    private const long GiB = 1L << 30;

    public static List<string> Run(
        EnvironmentSpec spec,
        EnvironmentLayout layout,
        EnvironmentRecord record,
        int rank,
        IReadOnlyList<string> runFlags,
        IPAddress publishAddress,
        HostResources host,
        string instance,
        bool rootless,
        bool realGpus)
    {
        var id = spec.ReservationId;
        var allocation = spec.Allocations[rank];
        var bind = publishAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[" + publishAddress + "]" : publishAddress.ToString();
        List<string> args =
        [
            "run", "--detach", "--init",
            "--name", layout.Container(rank),
            "--hostname", layout.Hostname(rank),
            "--label", EnvironmentLayout.ReservationLabel + "=" + id,
            "--label", EnvironmentLayout.RankLabel + "=" + Text(rank),
            "--label", EnvironmentLayout.InstanceLabel + "=" + instance,
            "--network", layout.Network,
            "--network-alias", layout.Hostname(rank),
            "--publish", $"{bind}:{Text(record.Ports[rank])}:{Text(EnvironmentContract.SshPort)}",
            .. runFlags,
        ];
        if (rank == 0)
        {
            args.AddRange(["--publish", $"{bind}:{Text(record.JupyterPort)}:{Text(EnvironmentContract.JupyterPort)}"]);
        }

        if (rootless)
        {
            // The server's own uid is the container's dev: files it gives to environments need no chown.
            args.Add($"--userns=keep-id:uid={Text(EnvironmentContract.DevUid)},gid={Text(EnvironmentContract.DevUid)}");
        }
        else
        {
            var map = $"0:{record.UidBase.ToString(CultureInfo.InvariantCulture)}:{Text(OwnerRanges.RangeSize)}";
            args.AddRange(["--uidmap", map, "--gidmap", map]);
        }

        var (cpus, memory) = Limits(allocation.GpuIndices.Count, host);
        if (!rootless)
        {
            args.AddRange(["--cpus", cpus.ToString("0.##", CultureInfo.InvariantCulture), "--memory", Text(memory / (1 << 20)) + "m"]);
        }

        args.AddRange(["--shm-size", Text(memory / 2 / (1 << 20)) + "m"]);

        if (realGpus)
        {
            foreach (var gpu in allocation.GpuIndices)
            {
                args.AddRange(["--device", "nvidia.com/gpu=" + Text(gpu)]);
            }
        }

        args.AddRange(["--volume", layout.ConfigDir + ":" + EnvironmentContract.ConfigPath + ":ro"]);
        args.AddRange(["--volume", layout.KeysDir + ":" + EnvironmentContract.KeysPath + ":ro"]);
        args.AddRange(["--volume", layout.Home(rank) + ":" + EnvironmentContract.Home]);
        args.AddRange(["--volume", layout.SharedPersonal(spec.Owner) + ":/shared-personal"]);
        args.AddRange(["--volume", layout.Ccache(spec.Owner) + ":/ccache"]);
        if (spec.Allocations.Count > 1)
        {
            args.AddRange(["--volume", layout.Shared + ":/shared"]);
        }

        foreach (var (name, value) in EnvironmentContract.Variables(spec, rank, layout.Hostname(0)))
        {
            args.AddRange(["--env", name + "=" + value]);
        }

        if (!spec.Options.PreserveEntrypoint)
        {
            args.AddRange(["--entrypoint", "/bin/sh", record.Image, EnvironmentContract.ConfigPath + "/" + EnvironmentContract.EntryFile]);
        }
        else
        {
            args.Add(record.Image);
        }

        return args;
    }

    /// <summary>CPUs and memory of a rank with <paramref name="gpus"/> GPUs: their share of the host × ResourceShare is applied by
    /// the caller through <see cref="HostResources"/>; at least one CPU and 1 GiB.</summary>
    public static (double Cpus, long MemoryBytes) Limits(int gpus, HostResources host)
    {
        var share = host.HostGpus > 0 && gpus > 0 ? (double)gpus / host.HostGpus : 1.0 / Math.Max(host.Nodes, 1);
        var cpus = Math.Max(1.0, Math.Round(host.Cpus * share, 2));
        var memory = Math.Max(GiB, (long)(host.MemoryBytes * share));
        return (Math.Min(cpus, host.Cpus), memory);
    }

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}

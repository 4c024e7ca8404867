using System.Net;
using System.Net.Sockets;

namespace GpuDev.Compute.LocalHost;

/// <summary>Chooses the host ports an environment publishes (every rank's sshd, rank 0's Jupyter) from
/// <see cref="LocalHostOptions.PortRange"/>: one that no other environment of this server has recorded and that can be bound now.</summary>
internal sealed class PortPicker(string stateDir, LocalHostOptions options)
{
    /// <summary>Whether podman failed because the published port was taken by someone else meanwhile.</summary>
    public static bool IsTaken(ProcessResult result) =>
        result.StdErr.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
        || result.StdErr.Contains("port is already allocated", StringComparison.OrdinalIgnoreCase)
        || result.StdErr.Contains("bind", StringComparison.OrdinalIgnoreCase) && result.StdErr.Contains("in use", StringComparison.OrdinalIgnoreCase);

    public int Choose(string reservationId, IEnumerable<int> exclude)
    {
        if (!PortRange.TryParse(options.PortRange, out var range))
        {
            throw new InvalidOperationException($"Invalid LocalHost:PortRange '{options.PortRange}'.");
        }

        var used = new HashSet<int>(exclude);
        var envs = Path.Combine(stateDir, "envs");
        foreach (var dir in Directory.Exists(envs) ? Directory.EnumerateDirectories(envs) : [])
        {
            if (Path.GetFileName(dir) != reservationId && EnvironmentRecordFile.Read(new EnvironmentLayout(stateDir, Path.GetFileName(dir))) is { } other)
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

        throw new InvalidOperationException($"No free port in LocalHost:PortRange {options.PortRange}.");
    }

    private bool IsBindable(int port)
    {
        var address = PublishedPorts.Address(options);
        try
        {
            using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(address, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

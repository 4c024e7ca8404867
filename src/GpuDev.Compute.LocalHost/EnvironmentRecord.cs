using System.Text.Json.Serialization;

namespace GpuDev.Compute.LocalHost;

/// <summary>What the provider keeps about one environment in <c>&lt;StateDir&gt;/envs/&lt;id&gt;/env.json</c>.
/// <paramref name="Port"/> is rank 0's sshd port; <paramref name="NodePorts"/> (multinode only, null for one node) holds
/// every rank's port in rank order, <c>NodePorts[0] == Port</c>. <paramref name="DiskId"/>: the named disk that is rank 0's
/// home (null: a temporary home); kept so that a restarted provider still finds (and, on removal, detaches) it.</summary>
internal sealed record EnvironmentRecord(
    string ReservationId, string Owner, int Port, string User, DateTimeOffset CreatedAt, IReadOnlyList<int>? NodePorts = null, string? DiskId = null)
{
    [JsonIgnore]
    public int NodeCount => NodePorts?.Count ?? 1;

    public int PortOf(int rank) => rank == 0 ? Port : NodePorts![rank];

    public EnvironmentRecord WithPort(int rank, int port)
    {
        if (NodePorts is null)
        {
            return this with { Port = port };
        }

        var ports = NodePorts.ToArray();
        ports[rank] = port;
        return this with { Port = ports[0], NodePorts = ports };
    }
}

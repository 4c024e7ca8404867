using System.Data.Common;
using System.Text.Json;
using GpuDev.Core.Reservations;

namespace GpuDev.Storage;

/// <summary>Reading reservations: the row, then its history, nodes, added users and warnings
/// (<see cref="ReservationDetails"/>) for many reservations at once.</summary>
internal static class ReservationRows
{
    public const string Select =
        """
        SELECT r.id, r.user_id, u.name, r.name, r.gpu_type, r.gpu_count, r.hours, r.node_count, r.jupyter, r.distributed, r.status,
            r.status_reason, r.created_at, r.started_at, r.expires_at, r.ended_at, r.ssh_host, r.ssh_port, r.ssh_user, r.ssh_host_key,
            r.queue_position, r.estimated_start_at, r.wait_reason, r.extended_hours, r.jupyter_url, r.disk_id,
            (SELECT d.name FROM disks d WHERE d.id = r.disk_id), r.recreate_env, r.environment_json::text, r.extended_at,
            r.likely_start_at, r.planned_nodes
        FROM reservations r JOIN users u ON u.id = r.user_id
        """;

    /// <summary>One reservation with its details; where the provider batches, all five queries in one round trip.</summary>
    public static async Task<Reservation?> LoadAsync(SqlSession session, string id, CancellationToken cancellationToken)
    {
        if (!session.Dialect.CanStore(id))
        {
            return null;
        }

        Reservation? reservation = null;
        var details = new ReservationDetails();
        var queries = ReservationDetails.Queries(session.Dialect, [id]).Prepend(new SqlQuery($"{Select} WHERE r.id = @id;", [("id", id)])).ToList();
        await session.ReadResultsAsync(queries, async (reader, index) =>
        {
            if (index > 0)
            {
                return await details.ReadAsync(reader, index - 1, cancellationToken);
            }

            reservation = await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
            return reservation is not null;
        }, cancellationToken);
        return reservation is null ? null : details.AddTo(reservation);
    }

    /// <summary>The reservations with their details: four queries per chunk of reservations, not four per reservation.</summary>
    public static async Task<List<Reservation>> WithDetailsAsync(SqlSession session, IReadOnlyList<Reservation> reservations, CancellationToken cancellationToken)
    {
        var details = new ReservationDetails();
        foreach (var chunk in reservations.Chunk(session.Dialect.MaxInList))
        {
            var queries = ReservationDetails.Queries(session.Dialect, [.. chunk.Select(r => r.Id)]);
            await session.ReadResultsAsync(queries, (reader, index) => details.ReadAsync(reader, index, cancellationToken), cancellationToken);
        }

        return [.. reservations.Select(details.AddTo)];
    }

    public static Reservation Read(DbDataReader r) => new()
    {
        Id = r.GetString(0),
        UserId = r.GetString(1),
        UserName = r.GetString(2),
        Name = r.GetStringOrNull(3),
        GpuType = r.GetString(4),
        GpuCount = r.GetInt32(5),
        Hours = r.GetDouble(6),
        NodeCount = r.GetInt32(7),
        Jupyter = r.GetBoolean(8),
        Distributed = r.GetBoolean(9),
        Status = ParseStatus(r.GetString(10)),
        StatusReason = r.GetStringOrNull(11),
        CreatedAt = r.GetTime(12),
        StartedAt = r.GetTimeOrNull(13),
        ExpiresAt = r.GetTimeOrNull(14),
        EndedAt = r.GetTimeOrNull(15),
        Ssh = r.IsDBNull(16) ? null : new SshEndpoint(r.GetString(16), r.GetInt32(17), r.GetString(18), r.GetStringOrNull(19)),
        QueuePosition = r.GetInt32OrNull(20),
        EstimatedStartAt = r.GetTimeOrNull(21),
        WaitReason = r.GetStringOrNull(22),
        ExtendedHours = r.GetDouble(23),
        JupyterUrl = r.GetStringOrNull(24),
        DiskId = r.GetStringOrNull(25),
        DiskName = r.GetStringOrNull(26),
        RecreateEnv = r.GetBoolean(27),
        Options = r.IsDBNull(28) ? EnvironmentOptions.None : JsonSerializer.Deserialize(r.GetString(28), StorageJsonContext.Default.EnvironmentOptions) ?? EnvironmentOptions.None,
        ExtendedAt = r.GetTimeOrNull(29),
        LikelyStartAt = r.GetTimeOrNull(30),
        PlannedNodes = r.IsDBNull(31) ? [] : r.GetString(31).Split(','),
    };

    public static ReservationStatus ParseStatus(string value) =>
        ReservationStateMachine.TryParseWire(value, out var status) ? status : throw new InvalidDataException($"Unknown status '{value}' in the store.");
}

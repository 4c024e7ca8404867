using System.Data.Common;
using System.Globalization;
using GpuDev.Core.Reservations;

namespace GpuDev.Storage;

/// <summary>History, nodes, added users and warnings of a set of reservations, gathered from the result sets of
/// <see cref="Queries"/> (read in that order).</summary>
internal sealed class ReservationDetails
{
    private readonly Dictionary<string, List<HistoryEntry>> _history = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<NodeAllocation>> _allocations = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _addedUsers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<ExpiryWarning>> _warnings = new(StringComparer.Ordinal);

    /// <summary>The four detail queries of the reservations <paramref name="ids"/>.</summary>
    public static SqlQuery[] Queries(SqlDialect dialect, IReadOnlyList<string> ids)
    {
        var parameters = new List<(string Name, object? Value)>();
        var of = dialect.InList("reservation_id", "id", ids, parameters);
        (string Name, object? Value)[] bound = [.. parameters];
        return
        [
            new($"SELECT reservation_id, at, from_status, to_status, reason FROM reservation_history WHERE {of} ORDER BY id;", bound),
            new($"SELECT reservation_id, rank, node, gpu_indices, ssh_host, ssh_port, ssh_user, ssh_host_key FROM reservation_nodes WHERE {of} ORDER BY reservation_id, rank;", bound),
            new($"SELECT reservation_id, github_user FROM reservation_users WHERE {of} ORDER BY reservation_id, added_at, {dialect.ByteOrder("github_user")};", bound),
            new($"SELECT reservation_id, minutes_before, at, message, delivered_at FROM reservation_warnings WHERE {of} ORDER BY reservation_id, at, minutes_before DESC;", bound),
        ];
    }

    /// <summary>Reads the result set of query <paramref name="query"/>; always true (go on with the next).</summary>
    public async Task<bool> ReadAsync(DbDataReader reader, int query, CancellationToken cancellationToken)
    {
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetString(0);
            switch (query)
            {
                case 0:
                    Add(_history, id, new HistoryEntry(reader.GetTime(1), reader.IsDBNull(2) ? null : ReservationRows.ParseStatus(reader.GetString(2)),
                        ReservationRows.ParseStatus(reader.GetString(3)), reader.GetString(4)));
                    break;
                case 1:
                    var indices = reader.GetString(3).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();
                    Add(_allocations, id, new NodeAllocation(reader.GetInt32(1), reader.GetString(2), indices)
                    {
                        Ssh = reader.IsDBNull(4) ? null : new SshEndpoint(reader.GetString(4), reader.GetInt32(5), reader.GetString(6), reader.GetStringOrNull(7)),
                    });
                    break;
                case 2:
                    Add(_addedUsers, id, reader.GetString(1));
                    break;
                default:
                    Add(_warnings, id, new ExpiryWarning(reader.GetInt32(1), reader.GetTime(2), reader.GetStringOrNull(3), reader.GetTimeOrNull(4)));
                    break;
            }
        }

        return true;
    }

    public Reservation AddTo(Reservation reservation) => reservation with
    {
        History = _history.GetValueOrDefault(reservation.Id) ?? [],
        Allocations = _allocations.GetValueOrDefault(reservation.Id) ?? [],
        AddedUsers = _addedUsers.GetValueOrDefault(reservation.Id) ?? [],
        Warnings = _warnings.GetValueOrDefault(reservation.Id) ?? [],
    };

    private static void Add<T>(Dictionary<string, List<T>> map, string id, T item)
    {
        if (!map.TryGetValue(id, out var list))
        {
            map[id] = list = [];
        }

        list.Add(item);
    }
}

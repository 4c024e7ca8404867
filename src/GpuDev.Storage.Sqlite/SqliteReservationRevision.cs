using GpuDev.Core.Storage;
using Microsoft.Data.Sqlite;

namespace GpuDev.Storage.Sqlite;

/// <summary>Reads the revisions that triggers (migration 12) move in the same transaction as any change to what a
/// reservation's answer is read from: <c>store_revision</c> and <c>reservations.revision</c>. Exact whichever process
/// wrote. One connection of its own with both statements prepared once: a read is a few microseconds, against a
/// reservation's five statements. SQLite has one writer at a time, so the single row costs writers nothing.</summary>
public sealed class SqliteReservationRevision(SqliteDataSource dataSource) : IReservationRevision, IDisposable
{
    private readonly Lock _gate = new();
    private SqliteConnection? _connection;
    private SqliteCommand? _store;
    private SqliteCommand? _reservation;

    public ValueTask<long?> CurrentAsync(CancellationToken cancellationToken) => ValueTask.FromResult(Read(null));

    public ValueTask<long?> OfReservationAsync(string reservationId, CancellationToken cancellationToken) => ValueTask.FromResult(Read(reservationId));

    private long? Read(string? reservationId)
    {
        lock (_gate)
        {
            try
            {
                if (_connection is null)
                {
                    _connection = (SqliteConnection)dataSource.OpenConnection();
                    _store = Command(_connection, "SELECT value FROM store_revision WHERE id = 1;");
                    _reservation = Command(_connection, "SELECT revision FROM reservations WHERE id = @id;");
                    _reservation.Parameters.Add("@id", SqliteType.Text);
                }

                if (reservationId is null)
                {
                    return _store!.ExecuteScalar() as long?;
                }

                _reservation!.Parameters[0].Value = reservationId;
                return _reservation.ExecuteScalar() as long?;
            }
            catch (SqliteException)
            {
                // No cache rather than a failed read: the store's own read reports what is wrong with the database.
                Close();
                return null;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            Close();
        }
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    private void Close()
    {
        _store?.Dispose();
        _reservation?.Dispose();
        _connection?.Dispose();
        _store = null;
        _reservation = null;
        _connection = null;
    }
}

using GpuDev.Core.Storage;
using Microsoft.Data.Sqlite;

namespace GpuDev.Storage.Sqlite;

/// <summary>Reads <c>store_revision</c>, which triggers (migration 12) bump in the same transaction as any change to what a
/// reservation's answer is read from, so it is exact whichever process wrote. One connection of its own with its statement
/// prepared once: a read is a few microseconds, against a reservation's five statements. SQLite has one writer at a time,
/// so the single row costs writers nothing.</summary>
public sealed class SqliteReservationRevision(SqliteDataSource dataSource) : IReservationRevision, IDisposable
{
    private readonly Lock _gate = new();
    private SqliteConnection? _connection;
    private SqliteCommand? _read;

    public ValueTask<long?> CurrentAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            try
            {
                if (_read is null)
                {
                    _connection = (SqliteConnection)dataSource.OpenConnection();
                    _read = _connection.CreateCommand();
                    _read.CommandText = "SELECT value FROM store_revision WHERE id = 1;";
                    _read.Prepare();
                }

                return ValueTask.FromResult(_read.ExecuteScalar() is long value ? value : (long?)null);
            }
            catch (SqliteException)
            {
                // No cache rather than a failed read: the store's own read reports what is wrong with the database.
                Close();
                return ValueTask.FromResult<long?>(null);
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

    private void Close()
    {
        _read?.Dispose();
        _connection?.Dispose();
        _read = null;
        _connection = null;
    }
}

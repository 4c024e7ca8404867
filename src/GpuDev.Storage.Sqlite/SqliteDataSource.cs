using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;

namespace GpuDev.Storage.Sqlite;

/// <summary>Connections to one SQLite file (created, with its folder, on first use), pooled by Microsoft.Data.Sqlite.
/// Each connection enforces foreign keys, syncs NORMAL (safe in WAL mode) and waits up to 30 s for the write lock.
/// The settings are per SQLite handle and a pooled connection keeps its handle, so they are set once per handle, not on
/// every open (three statements parsed per request were a measurable share of a read's cost).</summary>
public sealed class SqliteDataSource(string path) : DbDataSource
{
    private readonly string _connectionString = new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Cache = SqliteCacheMode.Private,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    private readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> _configured = [];
    private volatile bool _folderReady;

    public string Path { get; } = path;

    public override string ConnectionString => _connectionString;

    protected override DbConnection CreateDbConnection() => new SqliteConnection(_connectionString);

    protected override DbConnection OpenDbConnection() => OpenDbConnectionAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();

    protected override async ValueTask<DbConnection> OpenDbConnectionAsync(CancellationToken cancellationToken = default)
    {
        if (!_folderReady)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
            _folderReady = true;
        }

        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            if (!_configured.TryGetValue(connection.Handle!, out _))
            {
                await using var pragma = connection.CreateCommand();
                pragma.CommandText = "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 30000;";
                await pragma.ExecuteNonQueryAsync(cancellationToken);
                _configured.AddOrUpdate(connection.Handle!, this);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}

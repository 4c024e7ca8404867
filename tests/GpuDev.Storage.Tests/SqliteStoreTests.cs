using GpuDev.Storage.Sqlite;

namespace GpuDev.Storage.Tests;

public sealed class SqliteStoreTests : StoreContractTests
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpu-dev-sqlite-").FullName;

    protected override Task<SqlDatabase> OpenDatabaseAsync() =>
        Task.FromResult(new SqlDatabase(new SqliteDataSource(Path.Combine(_dir, "gpu-dev.db")), SqliteDialect.Instance));

    public override ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }
}

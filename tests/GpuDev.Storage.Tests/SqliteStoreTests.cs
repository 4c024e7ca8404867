using GpuDev.Storage.Sqlite;

namespace GpuDev.Storage.Tests;

public sealed class SqliteStoreTests : StoreContractTests
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpu-dev-sqlite-").FullName;

    protected override Task<SqlDatabase> OpenDatabaseAsync() =>
        Task.FromResult(new SqlDatabase(new SqliteDataSource(Path.Combine(_dir, "gpu-dev.db")), SqliteDialect.Instance));

    /// <summary>The connection settings are made once per SQLite handle; a connection handed out again by the pool (or a new
    /// one beside it) must still have them.</summary>
    [Fact]
    public async Task EveryConnection_HasItsSettings_AlsoWhenReusedFromThePool()
    {
        await using var source = new SqliteDataSource(Path.Combine(_dir, "settings.db"));
        var held = await source.OpenConnectionAsync(TestContext.Current.CancellationToken);
        for (var i = 0; i < 4; i++)
        {
            await using var connection = await source.OpenConnectionAsync(TestContext.Current.CancellationToken);
            foreach (var (pragma, expected) in new[] { ("foreign_keys", 1L), ("synchronous", 1L), ("busy_timeout", 30000L) })
            {
                await using var command = connection.CreateCommand();
                command.CommandText = $"PRAGMA {pragma};";
                Assert.Equal(expected, Convert.ToInt64(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken), System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        await held.DisposeAsync();
    }

    public override ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }
}

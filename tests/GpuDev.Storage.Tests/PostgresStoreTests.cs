using GpuDev.Core.Storage;
using GpuDev.Storage.Postgres;
using Npgsql;

namespace GpuDev.Storage.Tests;

public sealed class PostgresStoreTests(PostgresFixture fixture) : StoreContractTests
{
    private readonly List<NpgsqlDataSource> _dataSources = [];
    private string? _connectionString;

    protected override async Task<IReservationStore> CreateAsync()
    {
        _connectionString ??= await fixture.NewDatabaseAsync();
        var dataSource = NpgsqlDataSource.Create(_connectionString);
        _dataSources.Add(dataSource);
        return new PostgresStore(dataSource, Time);
    }

    [Fact]
    public async Task Initialize_FourReplicasAtOnceOnAnEmptyDatabase_AllSucceedOnce()
    {
        _connectionString = await fixture.NewDatabaseAsync();
        var stores = new List<PostgresStore>();
        for (var i = 0; i < 4; i++)
        {
            stores.Add((PostgresStore)await CreateAsync());
        }

        await Task.WhenAll(stores.Select(s => Task.Run(() => s.InitializeAsync(CancellationToken.None))));

        Assert.Equal(PostgresStore.LatestSchemaVersion, await stores[0].GetSchemaVersionAsync(CancellationToken.None));
        await using var connection = await _dataSources[0].OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT COUNT(*)::integer, COUNT(DISTINCT version)::integer FROM schema_migrations;", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((PostgresStore.LatestSchemaVersion, PostgresStore.LatestSchemaVersion), (reader.GetInt32(0), reader.GetInt32(1)));
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var dataSource in _dataSources)
        {
            await dataSource.DisposeAsync();
        }
    }
}

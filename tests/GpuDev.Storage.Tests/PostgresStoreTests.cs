using GpuDev.Storage.Postgres;
using Npgsql;

namespace GpuDev.Storage.Tests;

public sealed class PostgresStoreTests(PostgresFixture fixture) : StoreContractTests
{
    private readonly List<NpgsqlDataSource> _dataSources = [];
    private string? _connectionString;

    protected override async Task<SqlDatabase> OpenDatabaseAsync()
    {
        _connectionString ??= await fixture.NewDatabaseAsync();
        var dataSource = NpgsqlDataSource.Create(_connectionString);
        _dataSources.Add(dataSource);
        return new SqlDatabase(dataSource, PostgresDialect.Instance);
    }

    [Fact]
    public async Task Initialize_FourReplicasAtOnceOnAnEmptyDatabase_AllSucceedOnce()
    {
        _connectionString = await fixture.NewDatabaseAsync();
        var replicas = new List<StorePorts>();
        for (var i = 0; i < 4; i++)
        {
            replicas.Add(await CreateReplicaAsync());
        }

        await Task.WhenAll(replicas.Select(r => Task.Run(() => r.Reservations.InitializeAsync(CancellationToken.None))));

        var latest = replicas[0].Database.LatestSchemaVersion;
        Assert.Equal(latest, await replicas[0].Database.GetSchemaVersionAsync(CancellationToken.None));
        await using var connection = await _dataSources[0].OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT COUNT(*)::integer, COUNT(DISTINCT version)::integer FROM schema_migrations;", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal((latest, latest), (reader.GetInt32(0), reader.GetInt32(1)));
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var dataSource in _dataSources)
        {
            await dataSource.DisposeAsync();
        }
    }
}

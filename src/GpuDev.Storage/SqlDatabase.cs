using System.Data.Common;
using System.Globalization;

namespace GpuDev.Storage;

/// <summary>The shared ADO.NET core of the stores: one database (its connections come from
/// <paramref name="dataSource"/>, pooled by the provider) and what its SQL says differently (<paramref name="dialect"/>).
/// Each port (<see cref="ReservationStore"/>, <see cref="JobQueue"/>, ...) is a class over one of these.</summary>
public sealed class SqlDatabase(DbDataSource dataSource, SqlDialect dialect)
{
    internal SqlDialect Dialect => dialect;

    /// <summary>The schema version <see cref="MigrateAsync"/> brings a database to.</summary>
    public int LatestSchemaVersion => dialect.Migrations.Count;

    /// <summary>Applies the migrations not applied yet, in one transaction with their version records.</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        if (dialect.BeforeMigrations is { } setup)
        {
            await session.ExecuteAsync(setup, cancellationToken);
        }

        await session.BeginWriteAsync(cancellationToken);
        if (dialect.MigrationLock is { } migrationLock)
        {
            // Replicas starting at once: the first migrates, the others wait here and then find nothing left to do.
            await session.ExecuteAsync(migrationLock, cancellationToken);
        }

        await session.ExecuteAsync(dialect.CreateVersionTable, cancellationToken);
        var version = await SchemaVersionAsync(session, cancellationToken);
        for (var i = version; i < dialect.Migrations.Count; i++)
        {
            await session.ExecuteAsync(dialect.Migrations[i], cancellationToken);
            await session.ExecuteAsync($"INSERT INTO {dialect.VersionTable} (version) VALUES (@v);", cancellationToken, ("v", i + 1));
        }

        await session.CommitAsync(cancellationToken);
    }

    /// <summary>The schema version applied (for tests and operations).</summary>
    public async Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await SchemaVersionAsync(session, cancellationToken);
    }

    internal async Task<SqlSession> OpenAsync(CancellationToken cancellationToken) =>
        new(await dataSource.OpenConnectionAsync(cancellationToken), dialect);

    /// <summary>A session in a write transaction (<see cref="SqlDialect.BeginWriteAsync"/>): commit it, or dispose it to roll back.</summary>
    internal async Task<SqlSession> BeginWriteAsync(CancellationToken cancellationToken)
    {
        var session = await OpenAsync(cancellationToken);
        try
        {
            await session.BeginWriteAsync(cancellationToken);
            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>One statement on a connection of its own, outside any transaction.</summary>
    internal async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.ExecuteAsync(sql, cancellationToken, parameters);
    }

    internal async Task<List<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.QueryAsync(sql, read, cancellationToken, parameters);
    }

    internal async Task<T?> FirstOrDefaultAsync<T>(string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
        where T : class
    {
        await using var session = await OpenAsync(cancellationToken);
        return await session.FirstOrDefaultAsync(sql, read, cancellationToken, parameters);
    }

    private async Task<int> SchemaVersionAsync(SqlSession session, CancellationToken cancellationToken) =>
        Convert.ToInt32(await session.ScalarAsync($"SELECT COALESCE(MAX(version), 0) FROM {dialect.VersionTable};", cancellationToken), CultureInfo.InvariantCulture);
}

using System.Data.Common;

namespace GpuDev.Storage;

/// <summary>One open connection and, during a write, its transaction: every command made here runs in it. After a
/// commit or rollback the session goes on without a transaction (to read what was written, or what won a race).</summary>
internal sealed class SqlSession(DbConnection connection, SqlDialect dialect) : IAsyncDisposable
{
    private DbTransaction? _transaction;

    public SqlDialect Dialect => dialect;

    public async Task BeginWriteAsync(CancellationToken cancellationToken) =>
        _transaction = await dialect.BeginWriteAsync(connection, cancellationToken);

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        await _transaction!.CommitAsync(cancellationToken);
        await EndTransactionAsync();
    }

    public async Task RollbackAsync(CancellationToken cancellationToken)
    {
        await _transaction!.RollbackAsync(cancellationToken);
        await EndTransactionAsync();
    }

    public DbCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = dialect.Translate(sql);
        command.Transaction = _transaction;
        Bind(command.Parameters, command.CreateParameter, parameters);
        return command;
    }

    public async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(sql, parameters);
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    public async Task<List<T>> QueryAsync<T>(string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>The first row read by <paramref name="read"/>; null when there is none.</summary>
    public async Task<T?> FirstOrDefaultAsync<T>(string sql, Func<DbDataReader, T> read, CancellationToken cancellationToken, params (string Name, object? Value)[] parameters)
        where T : class
    {
        await using var command = Command(sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? read(reader) : null;
    }

    /// <summary>Runs <paramref name="queries"/> and hands their result sets to <paramref name="read"/> in order (with the
    /// query's index), until it answers false. Where the provider batches (PostgreSQL) they go in one round trip;
    /// elsewhere one command at a time.</summary>
    public async Task ReadResultsAsync(IReadOnlyList<SqlQuery> queries, Func<DbDataReader, int, Task<bool>> read, CancellationToken cancellationToken)
    {
        if (!connection.CanCreateBatch)
        {
            for (var i = 0; i < queries.Count; i++)
            {
                await using var command = Command(queries[i].Sql, queries[i].Parameters);
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                if (!await read(reader, i))
                {
                    return;
                }
            }

            return;
        }

        await using var batch = connection.CreateBatch();
        batch.Transaction = _transaction;
        foreach (var query in queries)
        {
            var command = batch.CreateBatchCommand();
            command.CommandText = dialect.Translate(query.Sql);
            Bind(command.Parameters, command.CreateParameter, query.Parameters);
            batch.BatchCommands.Add(command);
        }

        await using var batchReader = await batch.ExecuteReaderAsync(cancellationToken);
        for (var i = 0; i < queries.Count && (i == 0 || await batchReader.NextResultAsync(cancellationToken)); i++)
        {
            if (!await read(batchReader, i))
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await EndTransactionAsync();
        await connection.DisposeAsync();
    }

    private async Task EndTransactionAsync()
    {
        if (_transaction is not null)
        {
            await _transaction.DisposeAsync();
            _transaction = null;
        }
    }

    private static void Bind(DbParameterCollection target, Func<DbParameter> create, (string Name, object? Value)[] parameters)
    {
        foreach (var (name, value) in parameters)
        {
            var parameter = create();
            // With its prefix: Microsoft.Data.Sqlite otherwise tries '@', '$' and ':' in turn, each a lookup by name in the
            // statement (a measurable share of a list's cost with its IN lists); Npgsql takes either form.
            parameter.ParameterName = "@" + name;
            parameter.Value = value ?? DBNull.Value;
            target.Add(parameter);
        }
    }
}

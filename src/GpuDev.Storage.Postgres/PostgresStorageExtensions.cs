using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace GpuDev.Storage.Postgres;

public static class PostgresStorageExtensions
{
    /// <summary>Registers the storage ports on <paramref name="connectionString"/> (one pooled
    /// <see cref="NpgsqlDataSource"/>, disposed with the container).</summary>
    public static IServiceCollection AddPostgresStorage(this IServiceCollection services, string connectionString)
    {
        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        return services.AddSqlStorage(sp => new SqlDatabase(sp.GetRequiredService<NpgsqlDataSource>(), PostgresDialect.Instance));
    }

    /// <summary>Opens one connection to check that the database is reachable; a one-line reason when it is not (null when it is).</summary>
    public static async Task<string?> CheckConnectionAsync(string connectionString, CancellationToken cancellationToken)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            return $"the connection string is not valid: {e.Message}";
        }

        try
        {
            await using var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            return null;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or ArgumentException or TimeoutException)
        {
            var where = $"{builder.Host ?? "localhost"}:{builder.Port}/{builder.Database ?? builder.Username ?? "?"}";
            return $"cannot connect to PostgreSQL at {where}: {e.Message.ReplaceLineEndings(" ")}";
        }
    }
}

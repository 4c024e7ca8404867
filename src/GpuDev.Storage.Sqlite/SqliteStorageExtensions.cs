using GpuDev.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Storage.Sqlite;

public static class SqliteStorageExtensions
{
    /// <summary>Registers the storage ports on the SQLite file <c>{dataDir}/gpu-dev.db</c>.</summary>
    public static IServiceCollection AddSqliteStorage(this IServiceCollection services, string dataDir)
    {
        services.AddSingleton(_ => new SqliteDataSource(Path.Combine(dataDir, "gpu-dev.db")));
        services.AddSingleton<IReservationRevision>(sp => new SqliteReservationRevision(sp.GetRequiredService<SqliteDataSource>()));
        return services.AddSqlStorage(sp => new SqlDatabase(sp.GetRequiredService<SqliteDataSource>(), SqliteDialect.Instance));
    }
}

using GpuDev.Core.Jobs;
using GpuDev.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Storage.Sqlite;

public static class SqliteStorageExtensions
{
    /// <summary>Registers the SQLite store and queue on <c>{dataDir}/gpu-dev.db</c>.</summary>
    public static IServiceCollection AddSqliteStorage(this IServiceCollection services, string dataDir)
    {
        services.AddSingleton(sp => new SqliteStore(Path.Combine(dataDir, "gpu-dev.db"), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IReservationStore>(sp => sp.GetRequiredService<SqliteStore>());
        services.AddSingleton<IJobQueue>(sp => sp.GetRequiredService<SqliteStore>());
        services.AddSingleton<IWorkerLeases>(sp => sp.GetRequiredService<SqliteStore>());
        services.AddSingleton<GpuDev.Core.Disks.IDiskStore>(sp => sp.GetRequiredService<SqliteStore>());
        services.AddSingleton<GpuDev.Core.Audit.IAuditLog>(sp => sp.GetRequiredService<SqliteStore>());
        services.AddSingleton<IReservationStatistics>(sp => sp.GetRequiredService<SqliteStore>());
        return services;
    }
}

using GpuDev.Core.Audit;
using GpuDev.Core.Disks;
using GpuDev.Core.Identity;
using GpuDev.Core.Jobs;
using GpuDev.Core.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace GpuDev.Storage;

public static class SqlStorageExtensions
{
    /// <summary>Registers the <see cref="SqlDatabase"/> that <paramref name="database"/> builds and every storage port
    /// over it (singletons, as the database's connections are pooled).</summary>
    public static IServiceCollection AddSqlStorage(this IServiceCollection services, Func<IServiceProvider, SqlDatabase> database)
    {
        services.AddSingleton(database);
        services.AddSingleton<IReservationStore>(sp => new ReservationStore(sp.GetRequiredService<SqlDatabase>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IReservationStatistics>(sp => new ReservationStatistics(sp.GetRequiredService<SqlDatabase>()));
        services.AddSingleton<IJobQueue>(sp => new JobQueue(sp.GetRequiredService<SqlDatabase>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IWorkerLeases>(sp => new WorkerLeases(sp.GetRequiredService<SqlDatabase>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IDiskStore>(sp => new DiskStore(sp.GetRequiredService<SqlDatabase>()));
        services.AddSingleton<IAuditLog>(sp => new AuditLog(sp.GetRequiredService<SqlDatabase>()));
        services.AddSingleton<IIdentityStore>(sp => new IdentityStore(sp.GetRequiredService<SqlDatabase>(), sp.GetRequiredService<TimeProvider>()));
        // A store that can tell its revision exactly and cheaply registers it first (SQLite); elsewhere nothing is cached.
        services.TryAddSingleton<IReservationRevision>(NoReservationRevision.Instance);
        return services;
    }
}

using GpuDev.Core.Audit;
using GpuDev.Core.Disks;
using GpuDev.Core.Identity;
using GpuDev.Core.Jobs;
using GpuDev.Core.Storage;

namespace GpuDev.Storage.Tests;

/// <summary>Every storage port over one database, built as the DI registration (AddSqlStorage) builds them.</summary>
public sealed class StorePorts(SqlDatabase database, TimeProvider time)
{
    public SqlDatabase Database => database;

    public IReservationStore Reservations { get; } = new ReservationStore(database, time);

    public IReservationStatistics Statistics { get; } = new ReservationStatistics(database);

    public IJobQueue Jobs { get; } = new JobQueue(database, time);

    public IWorkerLeases Leases { get; } = new WorkerLeases(database, time);

    public IDiskStore Disks { get; } = new DiskStore(database);

    public IAuditLog Audit { get; } = new AuditLog(database);

    public IIdentityStore Identity { get; } = new IdentityStore(database, time);
}

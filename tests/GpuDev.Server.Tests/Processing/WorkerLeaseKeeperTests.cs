using GpuDev.Core.Jobs;
using GpuDev.Core.Storage;
using GpuDev.Server.Hosting;
using GpuDev.Server.Processing;
using GpuDev.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GpuDev.Server.Tests.Processing;

/// <summary>Two replicas (two keepers on one store): one runs the singleton workers; the other takes over once the
/// holder stops renewing (within LeaderLease) or at once when it stops cleanly.</summary>
public sealed class WorkerLeaseKeeperTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));
    private readonly string _dir = Directory.CreateTempSubdirectory("gpu-dev-leases-").FullName;
    private ServiceProvider _services = null!;

    public async ValueTask InitializeAsync()
    {
        _services = new ServiceCollection().AddSingleton<TimeProvider>(_time).AddSqliteStorage(_dir).BuildServiceProvider();
        await _services.GetRequiredService<IReservationStore>().InitializeAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private WorkerLeaseKeeper Keeper() =>
        new(_services.GetRequiredService<IWorkerLeases>(), _time, Options.Create(new ServerOptions { LeaderLease = TimeSpan.FromSeconds(15) }), NullLogger<WorkerLeaseKeeper>.Instance);

    [Fact]
    public async Task HoldsAsync_HolderStopsRenewing_OtherTakesOverWithinLeaderLease()
    {
        var a = Keeper();
        var b = Keeper();

        Assert.True(await a.HoldsAsync(WorkerLeaseKeeper.Scheduler, CancellationToken.None));
        Assert.False(await b.HoldsAsync(WorkerLeaseKeeper.Scheduler, CancellationToken.None));
        Assert.True(await b.HoldsAsync(WorkerLeaseKeeper.Lifecycle, CancellationToken.None));
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(await b.HoldsAsync(WorkerLeaseKeeper.Scheduler, CancellationToken.None));
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(await b.HoldsAsync(WorkerLeaseKeeper.Scheduler, CancellationToken.None));
        Assert.False(await a.HoldsAsync(WorkerLeaseKeeper.Scheduler, CancellationToken.None));
    }

    [Fact]
    public async Task StopAsync_ReleasesItsLeases_OtherTakesOverAtOnce()
    {
        var a = Keeper();
        var b = Keeper();
        await a.HoldsAsync(WorkerLeaseKeeper.Scheduler, CancellationToken.None);

        await a.StopAsync(CancellationToken.None);

        Assert.True(await b.HoldsAsync(WorkerLeaseKeeper.Scheduler, CancellationToken.None));
    }
}

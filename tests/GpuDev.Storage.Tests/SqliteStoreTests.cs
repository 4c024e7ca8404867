using GpuDev.Core.Audit;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Testing;
using GpuDev.Storage.Sqlite;

namespace GpuDev.Storage.Tests;

public sealed class SqliteStoreTests : StoreContractTests
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gpu-dev-sqlite-").FullName;

    protected override Task<SqlDatabase> OpenDatabaseAsync() =>
        Task.FromResult(new SqlDatabase(new SqliteDataSource(Path.Combine(_dir, "gpu-dev.db")), SqliteDialect.Instance));

    /// <summary>The connection settings are made once per SQLite handle; a connection handed out again by the pool (or a new
    /// one beside it) must still have them.</summary>
    [Fact]
    public async Task EveryConnection_HasItsSettings_AlsoWhenReusedFromThePool()
    {
        await using var source = new SqliteDataSource(Path.Combine(_dir, "settings.db"));
        var held = await source.OpenConnectionAsync(TestContext.Current.CancellationToken);
        for (var i = 0; i < 4; i++)
        {
            await using var connection = await source.OpenConnectionAsync(TestContext.Current.CancellationToken);
            foreach (var (pragma, expected) in new[] { ("foreign_keys", 1L), ("synchronous", 1L), ("busy_timeout", 30000L) })
            {
                await using var command = connection.CreateCommand();
                command.CommandText = $"PRAGMA {pragma};";
                Assert.Equal(expected, Convert.ToInt64(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken), System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        await held.DisposeAsync();
    }

    /// <summary>The read cache trusts this number: it must move with every change to what a reservation's answer is read
    /// from, whoever writes it (another connection is what another process is to SQLite), and not with writes that change
    /// no answer (leases, audit, a scheduling pass that repeats the wait information).</summary>
    [Fact]
    public async Task Revision_MovesWithEveryReservationChangeFromAnyConnection_NotWithOtherWrites()
    {
        var ct = TestContext.Current.CancellationToken;
        var source = new SqliteDataSource(Path.Combine(_dir, "revision.db"));
        var ports = new StorePorts(new SqlDatabase(source, SqliteDialect.Instance), Time);
        await ports.Reservations.InitializeAsync(ct);
        using var revision = new SqliteReservationRevision(source);
        async Task<long> CurrentAsync() => (await revision.CurrentAsync(ct))!.Value;

        var user = await ports.Reservations.AddUserAsync("alice", null, false, "hash", [TestKeys.Ed25519], ct);
        var start = await CurrentAsync();
        var reservation = (await ports.Reservations.CreateReservationAsync(new Reservation
        {
            Id = Guid.NewGuid().ToString("N"), UserId = user.Id, UserName = user.Name, GpuType = "h100", GpuCount = 2, Hours = 1,
            Status = ReservationStatus.Pending, CreatedAt = Time.GetUtcNow(),
        }, null, null, ct)).Reservation;
        var created = await CurrentAsync();
        Assert.True(created > start, "creating a reservation moves the revision");
        Assert.Equal(created, await revision.OfReservationAsync(reservation.Id, ct));
        var other = (await ports.Reservations.CreateReservationAsync(new Reservation
        {
            Id = Guid.NewGuid().ToString("N"), UserId = user.Id, UserName = user.Name, GpuType = "h100", GpuCount = 1, Hours = 1,
            Status = ReservationStatus.Pending, CreatedAt = Time.GetUtcNow(),
        }, null, null, ct)).Reservation;
        Assert.True(await CurrentAsync() > created, "another reservation moves the store's revision");
        Assert.Equal(created, await revision.OfReservationAsync(reservation.Id, ct));
        Assert.Null(await revision.OfReservationAsync("0123456789abcdef0123456789abcdef", ct));
        created = await CurrentAsync();

        WaitInfo[] wait = [new(reservation.Id, 1, Time.GetUtcNow().AddHours(1), "waiting for 2 h100 GPUs")];
        await ports.Reservations.UpdateWaitInfoAsync(wait, ct);
        var waited = await CurrentAsync();
        Assert.True(waited > created, "new wait information moves it");
        Assert.Equal(waited, await revision.OfReservationAsync(reservation.Id, ct));
        Assert.True(await revision.OfReservationAsync(other.Id, ct) < waited, "and not the other reservation's");
        await ports.Reservations.UpdateWaitInfoAsync(wait, ct);
        Assert.Equal(waited, await CurrentAsync());

        await ports.Leases.TryAcquireAsync("scheduler", "replica-a", TimeSpan.FromSeconds(10), ct);
        await ports.Audit.RecordAsync(new AuditEntry(Time.GetUtcNow(), "alice", "reservation.create", reservation.Id, 201, null, "127.0.0.1"), ct);
        Assert.Equal(waited, await CurrentAsync());

        await ports.Reservations.TransitionAsync(new ReservationTransition(reservation.Id, ReservationStatus.Pending, ReservationStatus.Cancelled, "by owner", Time.GetUtcNow()), ct);
        var cancelled = await CurrentAsync();
        Assert.True(cancelled > waited, "a transition moves it");
        Assert.Equal(cancelled, await revision.OfReservationAsync(reservation.Id, ct));
        var otherBefore = await revision.OfReservationAsync(other.Id, ct);

        await using (var elsewhere = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={source.Path};Pooling=False"))
        {
            await elsewhere.OpenAsync(ct);
            await using var rename = elsewhere.CreateCommand();
            rename.CommandText = $"UPDATE reservations SET name = 'renamed' WHERE id = '{other.Id}';";
            await rename.ExecuteNonQueryAsync(ct);
        }

        Assert.True(await CurrentAsync() > cancelled, "a write on another connection (another process) moves it");
        Assert.True(await revision.OfReservationAsync(other.Id, ct) > otherBefore, "and the reservation's it wrote");
        Assert.Equal(cancelled, await revision.OfReservationAsync(reservation.Id, ct));

        // The owner's name is in every answer about their reservations.
        await using (var elsewhere = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={source.Path};Pooling=False"))
        {
            await elsewhere.OpenAsync(ct);
            await using var rename = elsewhere.CreateCommand();
            rename.CommandText = "UPDATE users SET name = 'alicia';";
            await rename.ExecuteNonQueryAsync(ct);
        }

        Assert.True(await revision.OfReservationAsync(reservation.Id, ct) > cancelled, "renaming the owner moves their reservations' revisions");
    }

    public override ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
        return ValueTask.CompletedTask;
    }
}

using GpuDev.Core.Disks;

namespace GpuDev.Storage.Tests;

/// <summary>A user's live disk names are unique whatever their case, at the store itself (not only behind the API's
/// lookup): the unique index on <c>(user_id, lower(name))</c> among disks not deleted.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task Disk_NamesDifferingOnlyInCase_OneLiveDiskPerUser()
    {
        var alice = await UserAsync();
        var bob = await UserAsync("bob");
        var disk = (await _disks.CreateDiskAsync(alice.Id, "Work", Time.GetUtcNow(), CancellationToken.None))!;
        var other = (await _disks.CreateDiskAsync(alice.Id, "other", Time.GetUtcNow(), CancellationToken.None))!;

        var upper = await _disks.CreateDiskAsync(alice.Id, "WORK", Time.GetUtcNow(), CancellationToken.None);
        var renamedOnto = await _disks.RenameDiskAsync(other.Id, "work", CancellationToken.None);
        var bobs = await _disks.CreateDiskAsync(bob.Id, "work", Time.GetUtcNow(), CancellationToken.None);
        var recased = await _disks.RenameDiskAsync(disk.Id, "work", CancellationToken.None);

        Assert.Null(upper);
        Assert.False(renamedOnto);
        Assert.NotNull(bobs);
        Assert.True(recased);
        Assert.Equal(["other", "work"], (await _disks.ListDisksAsync(alice.Id, false, CancellationToken.None)).Select(d => d.Name));
    }

    [Fact]
    public async Task Disk_DeletedName_ReusableInAnyCase_UndeleteRefusedWhileALiveOneHasIt()
    {
        var alice = await UserAsync();
        var disk = (await _disks.CreateDiskAsync(alice.Id, "work", Time.GetUtcNow(), CancellationToken.None))!;
        Assert.True(await _disks.SoftDeleteDiskAsync(disk.Id, Time.GetUtcNow(), Time.GetUtcNow().AddDays(30), CancellationToken.None));

        var reused = await _disks.CreateDiskAsync(alice.Id, "WORK", Time.GetUtcNow(), CancellationToken.None);
        var undeleted = await _disks.UndeleteDiskAsync(disk.Id, CancellationToken.None);

        Assert.NotNull(reused);
        Assert.False(undeleted);
        Assert.True(await _disks.RenameDiskAsync(reused!.Id, "fresh", CancellationToken.None));
        Assert.True(await _disks.UndeleteDiskAsync(disk.Id, CancellationToken.None));
        Assert.Equal(["fresh", "work"], (await _disks.ListDisksAsync(alice.Id, false, CancellationToken.None)).Select(d => d.Name));
    }

    [Fact]
    public async Task Migrate_LiveDisksDifferingOnlyInCaseFromBefore_OldestKeepsTheNameOthersRenamed()
    {
        // The database as it was before the migration: live names unique only as written.
        var migrations = _ports.Database.Dialect.Migrations;
        var migration = migrations.Single(m => m.Contains("CREATE UNIQUE INDEX ix_disks_live_lower_name", StringComparison.Ordinal));
        await using (var session = await _ports.Database.OpenAsync(CancellationToken.None))
        {
            await session.ExecuteAsync("DROP INDEX ix_disks_live_lower_name;", CancellationToken.None);
            await session.ExecuteAsync("CREATE UNIQUE INDEX ix_disks_live_name ON disks(user_id, name) WHERE deleted_at IS NULL;", CancellationToken.None);
        }

        var alice = await UserAsync();
        var bob = await UserAsync("bob");
        var oldest = (await _disks.CreateDiskAsync(alice.Id, "Work", Time.GetUtcNow(), CancellationToken.None))!;
        Time.Advance(TimeSpan.FromMinutes(1));
        var younger = (await _disks.CreateDiskAsync(alice.Id, "work", Time.GetUtcNow(), CancellationToken.None))!;
        var youngest = (await _disks.CreateDiskAsync(alice.Id, "WORK", Time.GetUtcNow(), CancellationToken.None))!;
        var bobs = (await _disks.CreateDiskAsync(bob.Id, "work", Time.GetUtcNow(), CancellationToken.None))!;

        await using (var session = await _ports.Database.OpenAsync(CancellationToken.None))
        {
            await session.ExecuteAsync(migration, CancellationToken.None);
        }

        var names = (await _disks.ListDisksAsync(null, false, CancellationToken.None)).ToDictionary(d => d.Id, d => d.Name);
        Assert.Equal("Work", names[oldest.Id]);
        Assert.Equal($"work-{younger.Id[..8]}", names[younger.Id]);
        Assert.Equal($"WORK-{youngest.Id[..8]}", names[youngest.Id]);
        Assert.Equal("work", names[bobs.Id]);
        Assert.All(names.Values, n => Assert.True(DiskRules.IsValidName(n), n));
        Assert.Null(await _disks.CreateDiskAsync(alice.Id, "wORK", Time.GetUtcNow(), CancellationToken.None));
    }
}

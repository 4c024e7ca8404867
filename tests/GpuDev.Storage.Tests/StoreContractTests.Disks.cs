using GpuDev.Core.Disks;
using GpuDev.Core.Identity;
using GpuDev.Core.Reservations;
using GpuDev.Testing;

namespace GpuDev.Storage.Tests;

/// <summary>Disk records: the store-level operations both providers must implement alike.</summary>
public abstract partial class StoreContractTests
{
    private async Task<User> UserAsync(string name = "alice") =>
        await _store.FindUserByNameAsync(name, CancellationToken.None)
            ?? await _store.AddUserAsync(name, null, false, Guid.NewGuid().ToString("N"), [TestKeys.Ed25519], CancellationToken.None);

    private async Task<Reservation> NewReservationOnDiskAsync(User user, Disk disk) =>
        (await _store.CreateReservationAsync(new Reservation
        {
            Id = Guid.NewGuid().ToString("N"), UserId = user.Id, UserName = user.Name, GpuType = "h100", GpuCount = 1, Hours = 1,
            Status = ReservationStatus.Pending, CreatedAt = Time.GetUtcNow(), DiskId = disk.Id,
        }, null, null, CancellationToken.None)).Reservation;

    [Fact]
    public async Task Disk_Create_SameNameForSameUserRefused_OtherUserAllowed()
    {
        var alice = await UserAsync();
        var bob = await UserAsync("bob");

        var disk = await _disks.CreateDiskAsync(alice.Id, "work", Time.GetUtcNow(), CancellationToken.None);
        var again = await _disks.CreateDiskAsync(alice.Id, "work", Time.GetUtcNow(), CancellationToken.None);
        var bobs = await _disks.CreateDiskAsync(bob.Id, "work", Time.GetUtcNow(), CancellationToken.None);

        Assert.NotNull(disk);
        Assert.Equal((DiskStatus.Available, "alice", "work", 0), (disk!.Status, disk.UserName, disk.Name, disk.SnapshotCount));
        Assert.Equal(Time.GetUtcNow(), disk.CreatedAt);
        Assert.Null(again);
        Assert.NotNull(bobs);
        Assert.Equal(disk.Id, (await _disks.FindDiskAsync(alice.Id, "work", false, CancellationToken.None))!.Id);
        Assert.Equal(["work"], (await _disks.ListDisksAsync(alice.Id, false, CancellationToken.None)).Select(d => d.Name));
        Assert.Equal(["alice", "bob"], (await _disks.ListDisksAsync(null, false, CancellationToken.None)).Select(d => d.UserName));
    }

    [Fact]
    public async Task Disk_Rename_KeepsIdAndRefusesTakenName()
    {
        var alice = await UserAsync();
        var disk = (await _disks.CreateDiskAsync(alice.Id, "a", Time.GetUtcNow(), CancellationToken.None))!;
        await _disks.CreateDiskAsync(alice.Id, "b", Time.GetUtcNow(), CancellationToken.None);

        Assert.False(await _disks.RenameDiskAsync(disk.Id, "b", CancellationToken.None));
        Assert.True(await _disks.RenameDiskAsync(disk.Id, "c", CancellationToken.None));

        Assert.Equal("c", (await _disks.GetDiskAsync(disk.Id, CancellationToken.None))!.Name);
    }

    [Fact]
    public async Task Disk_ClaimedByReservation_SecondClaimThrowsAndWritesNothing()
    {
        var alice = await UserAsync();
        var disk = (await _disks.CreateDiskAsync(alice.Id, "work", Time.GetUtcNow(), CancellationToken.None))!;
        var first = await NewReservationOnDiskAsync(alice, disk);

        var e = await Assert.ThrowsAsync<DiskInUseException>(() => NewReservationOnDiskAsync(alice, disk));

        Assert.Equal(first.Id, e.Holder);
        Assert.Equal("work", first.DiskName);
        var stored = (await _disks.GetDiskAsync(disk.Id, CancellationToken.None))!;
        Assert.Equal((DiskStatus.InUse, first.Id), (stored.Status, stored.AttachedReservationId));
        Assert.Single(await _store.ListReservationsAsync(new(alice.Id), CancellationToken.None));
        Assert.False(await _disks.SoftDeleteDiskAsync(disk.Id, Time.GetUtcNow(), Time.GetUtcNow().AddDays(30), CancellationToken.None));
    }

    [Fact]
    public async Task Disk_BackupCycle_RecordsSnapshotAndMakesAvailable()
    {
        var alice = await UserAsync();
        var disk = (await _disks.CreateDiskAsync(alice.Id, "work", Time.GetUtcNow(), CancellationToken.None))!;
        var reservation = await NewReservationOnDiskAsync(alice, disk);

        Assert.False(await _disks.BeginBackupAsync(disk.Id, "someone-else", CancellationToken.None));
        Assert.True(await _disks.BeginBackupAsync(disk.Id, reservation.Id, CancellationToken.None));
        Assert.True(await _disks.BeginBackupAsync(disk.Id, reservation.Id, CancellationToken.None));
        Assert.Equal(DiskStatus.BackingUp, (await _disks.GetDiskAsync(disk.Id, CancellationToken.None))!.Status);
        Time.Advance(TimeSpan.FromMinutes(5));
        var snapshot = new DiskSnapshot("snap-1", disk.Id, Time.GetUtcNow(), 1234, 7, reservation.Id);
        await _disks.CompleteBackupAsync(disk.Id, snapshot, 4096, CancellationToken.None);
        await _disks.CompleteBackupAsync(disk.Id, snapshot, 4096, CancellationToken.None);

        var stored = (await _disks.GetDiskAsync(disk.Id, CancellationToken.None))!;
        Assert.Equal((DiskStatus.Available, null, 4096L, 1, "snap-1"), (stored.Status, stored.AttachedReservationId, stored.SizeBytes, stored.SnapshotCount, stored.LatestSnapshotId));
        Assert.Equal(Time.GetUtcNow(), stored.LastUsedAt);
        Assert.Equal(Time.GetUtcNow(), stored.LatestSnapshotAt);
        Assert.Equal(snapshot, Assert.Single(await _disks.ListSnapshotsAsync(disk.Id, CancellationToken.None)));

        await _disks.DeleteSnapshotRecordAsync("snap-1", CancellationToken.None);
        Assert.Empty(await _disks.ListSnapshotsAsync(disk.Id, CancellationToken.None));
        Assert.NotNull(await NewReservationOnDiskAsync(alice, disk));
    }

    [Fact]
    public async Task Disk_Snapshots_ListedNewestFirst()
    {
        var alice = await UserAsync();
        var disk = (await _disks.CreateDiskAsync(alice.Id, "work", Time.GetUtcNow(), CancellationToken.None))!;
        for (var i = 0; i < 3; i++)
        {
            var reservation = await NewReservationOnDiskAsync(alice, disk);
            await _disks.BeginBackupAsync(disk.Id, reservation.Id, CancellationToken.None);
            Time.Advance(TimeSpan.FromHours(1));
            await _disks.CompleteBackupAsync(disk.Id, new DiskSnapshot($"s{i}", disk.Id, Time.GetUtcNow(), i, i, reservation.Id), i, CancellationToken.None);
        }

        Assert.Equal(["s2", "s1", "s0"], (await _disks.ListSnapshotsAsync(disk.Id, CancellationToken.None)).Select(s => s.Id));
        Assert.Equal(("s2", 3), ((await _disks.GetDiskAsync(disk.Id, CancellationToken.None))!.LatestSnapshotId, (await _disks.GetDiskAsync(disk.Id, CancellationToken.None))!.SnapshotCount));
    }

    [Fact]
    public async Task Disk_Restore_OnlyFromAvailable()
    {
        var alice = await UserAsync();
        var disk = (await _disks.CreateDiskAsync(alice.Id, "work", Time.GetUtcNow(), CancellationToken.None))!;

        Assert.True(await _disks.BeginRestoreAsync(disk.Id, "host-a:42:x", Time.GetUtcNow(), CancellationToken.None));
        Assert.False(await _disks.BeginRestoreAsync(disk.Id, "host-b:7:y", Time.GetUtcNow(), CancellationToken.None));
        var underWay = Assert.Single(await _disks.ListRestoresAsync(CancellationToken.None));
        await Assert.ThrowsAsync<DiskInUseException>(() => NewReservationOnDiskAsync(alice, disk));
        await _disks.EndRestoreAsync(disk.Id, 99, CancellationToken.None);

        var stored = (await _disks.GetDiskAsync(disk.Id, CancellationToken.None))!;
        Assert.Equal((DiskStatus.Available, 99L), (stored.Status, stored.SizeBytes));
        Assert.Equal(new DiskRestore(disk.Id, "host-a:42:x", Time.GetUtcNow()), underWay);
        Assert.Empty(await _disks.ListRestoresAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Disk_SoftDeleteUndeleteAndPurge()
    {
        var alice = await UserAsync();
        var disk = (await _disks.CreateDiskAsync(alice.Id, "work", Time.GetUtcNow(), CancellationToken.None))!;
        var purgeAt = Time.GetUtcNow().AddDays(30);

        Assert.True(await _disks.SoftDeleteDiskAsync(disk.Id, Time.GetUtcNow(), purgeAt, CancellationToken.None));
        Assert.Null(await _disks.FindDiskAsync(alice.Id, "work", false, CancellationToken.None));
        var deleted = (await _disks.FindDiskAsync(alice.Id, "work", true, CancellationToken.None))!;
        Assert.Equal((DiskStatus.Deleted, purgeAt), (deleted.Status, deleted.PurgeAt));
        Assert.Empty(await _disks.ListDisksAsync(alice.Id, false, CancellationToken.None));
        Assert.Single(await _disks.ListDisksAsync(alice.Id, true, CancellationToken.None));

        // A new live disk takes the name: the deleted one cannot come back while it exists.
        var replacement = (await _disks.CreateDiskAsync(alice.Id, "work", Time.GetUtcNow(), CancellationToken.None))!;
        Assert.False(await _disks.UndeleteDiskAsync(disk.Id, CancellationToken.None));
        Assert.Equal(replacement.Id, (await _disks.FindDiskAsync(alice.Id, "work", true, CancellationToken.None))!.Id);
        Assert.True(await _disks.RenameDiskAsync(replacement.Id, "other", CancellationToken.None));
        Assert.True(await _disks.UndeleteDiskAsync(disk.Id, CancellationToken.None));
        Assert.False(await _disks.UndeleteDiskAsync(disk.Id, CancellationToken.None));
        Assert.Equal((DiskStatus.Available, null), ((await _disks.GetDiskAsync(disk.Id, CancellationToken.None))!.Status, (await _disks.GetDiskAsync(disk.Id, CancellationToken.None))!.DeletedAt));

        Assert.True(await _disks.SoftDeleteDiskAsync(disk.Id, Time.GetUtcNow(), purgeAt, CancellationToken.None));
        Assert.Empty(await _disks.ListPurgeableAsync(purgeAt.AddSeconds(-1), CancellationToken.None));
        Assert.Equal(disk.Id, Assert.Single(await _disks.ListPurgeableAsync(purgeAt, CancellationToken.None)).Id);
        await _disks.MarkPurgedAsync(disk.Id, purgeAt, CancellationToken.None);

        Assert.Empty(await _disks.ListPurgeableAsync(purgeAt.AddDays(1), CancellationToken.None));
        Assert.Null(await _disks.FindDiskAsync(alice.Id, "work", true, CancellationToken.None));
        Assert.False(await _disks.UndeleteDiskAsync(disk.Id, CancellationToken.None));
    }
}

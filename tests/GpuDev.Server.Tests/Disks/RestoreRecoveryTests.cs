using GpuDev.Core.Disks;
using GpuDev.Server.Processing;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Disks;

/// <summary>At start-up a server ends the disk restores cut short by a crash, and leaves alone those another replica is
/// doing right now.</summary>
public sealed class RestoreRecoveryTests
{
    [Fact]
    public async Task Restart_EndsRestoresOfGoneProcesses_KeepsLiveOnes()
    {
        var first = new ServerFixture();
        await first.ClientForAsync("alice");
        var user = (await first.Store.FindUserByNameAsync("alice", CancellationToken.None))!;
        var disks = first.Services.GetRequiredService<IDiskStore>();
        var crashed = (await disks.CreateDiskAsync(user.Id, "crashed", first.Time.GetUtcNow(), CancellationToken.None))!;
        var live = (await disks.CreateDiskAsync(user.Id, "live", first.Time.GetUtcNow(), CancellationToken.None))!;
        var old = (await disks.CreateDiskAsync(user.Id, "old", first.Time.GetUtcNow(), CancellationToken.None))!;
        var otherHost = "other-host/boot/ns:4242:feed";
        Assert.True(await disks.BeginRestoreAsync(crashed.Id, OwnerOfAGoneProcess(), first.Time.GetUtcNow(), CancellationToken.None));
        Assert.True(await disks.BeginRestoreAsync(live.Id, otherHost, first.Time.GetUtcNow(), CancellationToken.None));
        Assert.True(await disks.BeginRestoreAsync(old.Id, otherHost, first.Time.GetUtcNow() - TimeSpan.FromHours(2), CancellationToken.None));

        await using var second = await first.RestartAsync();
        await second.ClientForAsync("bob");
        var after = second.Services.GetRequiredService<IDiskStore>();

        Assert.Equal(DiskStatus.Available, (await after.GetDiskAsync(crashed.Id, CancellationToken.None))!.Status);
        Assert.Equal(DiskStatus.BackingUp, (await after.GetDiskAsync(live.Id, CancellationToken.None))!.Status);
        Assert.Equal(DiskStatus.Available, (await after.GetDiskAsync(old.Id, CancellationToken.None))!.Status);
        Assert.Equal([live.Id], (await after.ListRestoresAsync(CancellationToken.None)).Select(r => r.DiskId));
    }

    /// <summary>This host's owner format with a pid that runs no process.</summary>
    private static string OwnerOfAGoneProcess()
    {
        var parts = LeaseOwners.ThisProcess.Split(':');
        var pid = Enumerable.Range(4_000_000, 1000).First(p => !Directory.Exists($"/proc/{p}"));
        return $"{parts[0]}:{pid}:gone";
    }
}

using GpuDev.Core.Jobs;

namespace GpuDev.Storage.Tests;

/// <summary>Worker leases (one active scheduler / lifecycle worker among replicas).</summary>
public abstract partial class StoreContractTests
{
    private IWorkerLeases Leases => _ports.Leases;

    [Fact]
    public async Task Lease_AcquireRenewAndRefuseOthersWhileLive()
    {
        var ttl = TimeSpan.FromSeconds(15);

        Assert.True(await Leases.TryAcquireAsync("scheduler", "a", ttl, CancellationToken.None));
        Assert.False(await Leases.TryAcquireAsync("scheduler", "b", ttl, CancellationToken.None));
        Assert.True(await Leases.TryAcquireAsync("lifecycle", "b", ttl, CancellationToken.None));
        Time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(await Leases.TryAcquireAsync("scheduler", "a", ttl, CancellationToken.None));
        Time.Advance(TimeSpan.FromSeconds(10));
        Assert.False(await Leases.TryAcquireAsync("scheduler", "b", ttl, CancellationToken.None));

        Assert.Equal(new WorkerLease("scheduler", "a", Time.GetUtcNow().AddSeconds(5)), await Leases.GetLeaseAsync("scheduler", CancellationToken.None));
    }

    [Fact]
    public async Task Lease_Expired_TakenOverByAnother()
    {
        var ttl = TimeSpan.FromSeconds(15);
        await Leases.TryAcquireAsync("scheduler", "a", ttl, CancellationToken.None);

        Time.Advance(TimeSpan.FromSeconds(14.999));
        Assert.False(await Leases.TryAcquireAsync("scheduler", "b", ttl, CancellationToken.None));
        Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await Leases.TryAcquireAsync("scheduler", "b", ttl, CancellationToken.None));
        Assert.False(await Leases.TryAcquireAsync("scheduler", "a", ttl, CancellationToken.None));

        Assert.Equal("b", (await Leases.GetLeaseAsync("scheduler", CancellationToken.None))!.Owner);
    }

    [Fact]
    public async Task Lease_Release_OnlyByHolder_ThenFreeAtOnce()
    {
        var ttl = TimeSpan.FromSeconds(15);
        await Leases.TryAcquireAsync("scheduler", "a", ttl, CancellationToken.None);

        await Leases.ReleaseAsync("scheduler", "b", CancellationToken.None);
        Assert.False(await Leases.TryAcquireAsync("scheduler", "b", ttl, CancellationToken.None));
        await Leases.ReleaseAsync("scheduler", "a", CancellationToken.None);

        Assert.Null(await Leases.GetLeaseAsync("scheduler", CancellationToken.None));
        Assert.True(await Leases.TryAcquireAsync("scheduler", "b", ttl, CancellationToken.None));
    }

    [Fact]
    public async Task Lease_ManyReplicasAtOnce_OneHolder()
    {
        var replicas = new List<IWorkerLeases>();
        for (var i = 0; i < 6; i++)
        {
            replicas.Add((await CreateReplicaAsync()).Leases);
        }

        var won = await Task.WhenAll(replicas.Select((r, i) => Task.Run(() => r.TryAcquireAsync("scheduler", $"r{i}", TimeSpan.FromSeconds(15), CancellationToken.None))));

        Assert.Single(won, w => w);
        Assert.Equal($"r{Array.IndexOf(won, true)}", (await Leases.GetLeaseAsync("scheduler", CancellationToken.None))!.Owner);
    }
}

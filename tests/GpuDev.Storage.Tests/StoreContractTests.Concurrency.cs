using System.Collections.Concurrent;
using GpuDev.Core.Disks;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;

namespace GpuDev.Storage.Tests;

/// <summary>The guarantees under concurrency, with several store instances (replicas) on the same database.</summary>
public abstract partial class StoreContractTests
{
    [Fact]
    public async Task Claim_EightReplicasClaiming500Jobs_EachClaimedExactlyOnce()
    {
        for (var i = 0; i < 500; i++)
        {
            await _queue.EnqueueAsync(new JobRequest(JobKind.Teardown, $"r{i}", Time.GetUtcNow()), CancellationToken.None);
        }

        var replicas = new List<IJobQueue>();
        for (var i = 0; i < 8; i++)
        {
            replicas.Add((await CreateReplicaAsync()).Jobs);
        }

        var claimed = new ConcurrentBag<(long Id, string Owner)>();
        await Task.WhenAll(replicas.Select((queue, w) => Task.Run(async () =>
        {
            while (await queue.ClaimAsync($"w{w}", TimeSpan.FromMinutes(5), CancellationToken.None) is { } job)
            {
                Assert.Equal($"w{w}", job.LeaseOwner);
                claimed.Add((job.Id, $"w{w}"));
            }
        })));

        Assert.Equal(500, claimed.Count);
        Assert.Equal(500, claimed.Select(c => c.Id).Distinct().Count());
        var jobs = await _queue.ListAsync(CancellationToken.None);
        Assert.All(jobs, j => Assert.Equal(1, j.Attempts));
        Assert.Equal(claimed.ToDictionary(c => c.Id, c => c.Owner), jobs.ToDictionary(j => j.Id, j => j.LeaseOwner!));
    }

    [Fact]
    public async Task Transition_TwoReplicasAllocatingTheSameGpuAtOnce_ExactlyOneWins()
    {
        var other = await CreateAsync();
        for (var round = 0; round < 10; round++)
        {
            var first = await NewReservationAsync();
            var second = await NewReservationAsync();
            var gpu = round % 8;
            var node = $"race-{round}";
            ReservationTransition Place(Reservation r) => ToPreparing(r, gpu) with { Allocate = [new NodeAllocation(0, node, [gpu, (gpu + 1) % 8])] };

            var results = await Task.WhenAll(
                Task.Run(() => Outcome(_store.TransitionAsync(Place(first), CancellationToken.None))),
                Task.Run(() => Outcome(other.TransitionAsync(Place(second), CancellationToken.None))));

            Assert.Equal(["conflict", "won"], results.Order());
            var allocations = (await _store.GetAllocationsAsync(CancellationToken.None)).Where(a => a.Node == node).ToList();
            Assert.Equal(2, allocations.Count);
            var winner = Assert.Single(allocations.Select(a => a.ReservationId).Distinct());
            var loser = winner == first.Id ? second.Id : first.Id;
            Assert.Equal(ReservationStatus.Preparing, (await _store.GetReservationAsync(winner, CancellationToken.None))!.Status);
            var lost = (await _store.GetReservationAsync(loser, CancellationToken.None))!;
            Assert.Equal((ReservationStatus.Pending, 1, 0), (lost.Status, lost.History.Count, lost.Allocations.Count));
        }

        Assert.Equal(10, (await _queue.ListAsync(CancellationToken.None)).Count);
    }

    [Fact]
    public async Task Transition_SameReservationFromTwoReplicasAtOnce_AppliedOnce()
    {
        var other = await CreateAsync();
        var reservation = await NewReservationAsync();
        var cancel = new ReservationTransition(reservation.Id, ReservationStatus.Pending, ReservationStatus.Cancelled, "cancelled", Time.GetUtcNow())
        {
            FollowUp = new JobRequest(JobKind.Teardown, reservation.Id, Time.GetUtcNow()),
        };

        var results = await Task.WhenAll(
            Task.Run(() => _store.TransitionAsync(cancel, CancellationToken.None)),
            Task.Run(() => other.TransitionAsync(cancel, CancellationToken.None)));

        Assert.Equal([false, true], results.Order());
        Assert.Equal(2, (await _store.GetReservationAsync(reservation.Id, CancellationToken.None))!.History.Count);
        Assert.Single(await _queue.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Create_SameDiskFromTwoReplicasAtOnce_ExactlyOneClaimsIt()
    {
        var other = await CreateAsync();
        var alice = await UserAsync();
        for (var round = 0; round < 5; round++)
        {
            var disk = (await _disks.CreateDiskAsync(alice.Id, $"d{round}", Time.GetUtcNow(), CancellationToken.None))!;
            Reservation Request() => new()
            {
                Id = Guid.NewGuid().ToString("N"), UserId = alice.Id, UserName = alice.Name, GpuType = "h100", GpuCount = 1, Hours = 1,
                Status = ReservationStatus.Pending, CreatedAt = Time.GetUtcNow(), DiskId = disk.Id,
            };

            var results = await Task.WhenAll(
                Task.Run(() => Outcome(_store.CreateReservationAsync(Request(), null, null, CancellationToken.None))),
                Task.Run(() => Outcome(other.CreateReservationAsync(Request(), null, null, CancellationToken.None))));

            Assert.Equal(["disk-in-use", "won"], results.Order());
            var holder = (await _disks.GetDiskAsync(disk.Id, CancellationToken.None))!.AttachedReservationId;
            Assert.Equal(holder, Assert.Single(await _store.ListReservationsAsync(new(alice.Id), CancellationToken.None), r => r.DiskId == disk.Id).Id);
        }
    }

    [Fact]
    public async Task Create_SameIdempotencyKeyFromTwoReplicasAtOnce_OneReservation()
    {
        var other = await CreateAsync();
        var alice = await UserAsync();
        Reservation Request() => new()
        {
            Id = Guid.NewGuid().ToString("N"), UserId = alice.Id, UserName = alice.Name, GpuType = "h100", GpuCount = 1, Hours = 1,
            Status = ReservationStatus.Pending, CreatedAt = Time.GetUtcNow(),
        };

        var results = await Task.WhenAll(
            Task.Run(() => _store.CreateReservationAsync(Request(), "same-key", new JobRequest(JobKind.Provision, "x", Time.GetUtcNow()), CancellationToken.None)),
            Task.Run(() => other.CreateReservationAsync(Request(), "same-key", new JobRequest(JobKind.Provision, "x", Time.GetUtcNow()), CancellationToken.None)));

        Assert.Equal([false, true], results.Select(r => r.Created).Order());
        Assert.Single(results.Select(r => r.Reservation.Id).Distinct());
        Assert.Single(await _store.ListReservationsAsync(new(alice.Id), CancellationToken.None));
        Assert.Single(await _queue.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Create_SameKeyAndDiskFromTwoReplicasAtOnce_SecondGetsTheFirst()
    {
        var other = await CreateAsync();
        var alice = await UserAsync();
        for (var round = 0; round < 5; round++)
        {
            var disk = (await _disks.CreateDiskAsync(alice.Id, $"k{round}", Time.GetUtcNow(), CancellationToken.None))!;
            Reservation Request() => new()
            {
                Id = Guid.NewGuid().ToString("N"), UserId = alice.Id, UserName = alice.Name, GpuType = "h100", GpuCount = 1, Hours = 1,
                Status = ReservationStatus.Pending, CreatedAt = Time.GetUtcNow(), DiskId = disk.Id,
            };

            var results = await Task.WhenAll(
                Task.Run(() => _store.CreateReservationAsync(Request(), $"key-{round}", null, CancellationToken.None)),
                Task.Run(() => other.CreateReservationAsync(Request(), $"key-{round}", null, CancellationToken.None)));

            Assert.Equal([false, true], results.Select(r => r.Created).Order());
            Assert.Single(results.Select(r => r.Reservation.Id).Distinct());
            Assert.Equal(results[0].Reservation.Id, (await _disks.GetDiskAsync(disk.Id, CancellationToken.None))!.AttachedReservationId);
        }
    }

    private static async Task<string> Outcome<T>(Task<T> action)
    {
        try
        {
            return await action is false ? "unchanged" : "won";
        }
        catch (AllocationConflictException)
        {
            return "conflict";
        }
        catch (DiskInUseException)
        {
            return "disk-in-use";
        }
    }
}

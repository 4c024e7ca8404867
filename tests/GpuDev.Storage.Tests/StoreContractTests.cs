using GpuDev.Core.Audit;
using GpuDev.Core.Compute;
using GpuDev.Core.Disks;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Testing;
using Microsoft.Extensions.Time.Testing;

namespace GpuDev.Storage.Tests;

/// <summary>What every store must do. One subclass per provider (SQLite, PostgreSQL).</summary>
public abstract partial class StoreContractTests : IAsyncLifetime
{
    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    private StorePorts _ports = null!;
    private IReservationStore _store = null!;
    private IJobQueue _queue = null!;
    private IDiskStore _disks = null!;

    /// <summary>This test's database; each call gives another connection source (another replica) on the same database.</summary>
    protected abstract Task<SqlDatabase> OpenDatabaseAsync();

    /// <summary>Every port over another replica of this test's database.</summary>
    protected async Task<StorePorts> CreateReplicaAsync() => new(await OpenDatabaseAsync(), Time);

    /// <summary>The reservation store of another replica.</summary>
    private async Task<IReservationStore> CreateAsync() => (await CreateReplicaAsync()).Reservations;

    public async ValueTask InitializeAsync()
    {
        _ports = await CreateReplicaAsync();
        _store = _ports.Reservations;
        _queue = _ports.Jobs;
        _disks = _ports.Disks;
        await _store.InitializeAsync(CancellationToken.None);
    }

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private async Task<Reservation> NewReservationAsync(string? key = null, string userName = "alice")
    {
        var user = await _store.FindUserByNameAsync(userName, CancellationToken.None)
            ?? await _store.AddUserAsync(userName, null, false, Guid.NewGuid().ToString("N"), [TestKeys.Ed25519], CancellationToken.None);
        var reservation = new Reservation
        {
            Id = Guid.NewGuid().ToString("N"), UserId = user.Id, UserName = user.Name, GpuType = "h100", GpuCount = 2, Hours = 1,
            Status = ReservationStatus.Pending, CreatedAt = Time.GetUtcNow(),
        };
        return (await _store.CreateReservationAsync(reservation, key, null, CancellationToken.None)).Reservation;
    }

    private ReservationTransition ToPreparing(Reservation r, params int[] gpus) =>
        new(r.Id, r.Status, ReservationStatus.Preparing, "placed", Time.GetUtcNow())
        {
            Allocate = [new NodeAllocation(0, "node-0", gpus)],
            FollowUp = new JobRequest(JobKind.Provision, r.Id, Time.GetUtcNow()),
        };

    [Fact]
    public async Task Audit_Query_FiltersNewestFirstAndPurges()
    {
        var audit = _ports.Audit;
        var t0 = Time.GetUtcNow();
        await audit.RecordAsync(new AuditEntry(t0.AddDays(-100), "bob", "DELETE /api/v1/reservations/{id}", "abcd1234", 200, null, "10.0.0.1"), CancellationToken.None);
        await audit.RecordAsync(new AuditEntry(t0.AddHours(-2), "bob", "POST /api/v1/reservations/", "abcd9999", 201, null, "10.0.0.1"), CancellationToken.None);
        await audit.RecordAsync(new AuditEntry(t0.AddHours(-1), "anonymous", "DELETE /api/v1/reservations/{id}", "abcd1234", 401, "no token", "10.0.0.2"), CancellationToken.None);
        await audit.RecordAsync(new AuditEntry(t0, "system:lifecycle", "transition active->expired", "abcd1234", 200, "reached its end time", null), CancellationToken.None);

        var all = await audit.QueryAsync(new AuditQuery(), CancellationToken.None);
        var bobs = await audit.QueryAsync(new AuditQuery(Actor: "bob"), CancellationToken.None);
        var onTarget = await audit.QueryAsync(new AuditQuery(Target: "abcd1234"), CancellationToken.None);
        var byPrefix = await audit.QueryAsync(new AuditQuery(Target: "abcd"), CancellationToken.None);
        var deletes = await audit.QueryAsync(new AuditQuery(Action: "DELETE"), CancellationToken.None);
        var recent = await audit.QueryAsync(new AuditQuery(Since: t0.AddHours(-1)), CancellationToken.None);
        var limited = await audit.QueryAsync(new AuditQuery(Limit: 2), CancellationToken.None);
        var nul = await audit.QueryAsync(new AuditQuery(Target: "abcd\0"), CancellationToken.None);
        var purged = await audit.PurgeAsync(t0.AddDays(-90), CancellationToken.None);
        var left = await audit.QueryAsync(new AuditQuery(), CancellationToken.None);

        Assert.Equal(["system:lifecycle", "anonymous", "bob", "bob"], all.Select(e => e.Actor));
        Assert.Equal(new AuditEntry(t0.AddHours(-1), "anonymous", "DELETE /api/v1/reservations/{id}", "abcd1234", 401, "no token", "10.0.0.2") { Id = all[1].Id }, all[1]);
        Assert.Equal([201, 200], bobs.Select(e => e.Outcome));
        Assert.Equal(3, onTarget.Count);
        Assert.Equal(4, byPrefix.Count);
        Assert.Equal([401, 200], deletes.Select(e => e.Outcome));
        Assert.Equal(["system:lifecycle", "anonymous"], recent.Select(e => e.Actor));
        Assert.Equal(all.Take(2).Select(e => e.Id), limited.Select(e => e.Id));
        Assert.Empty(nul);
        Assert.Equal(1, purged);
        Assert.Equal(3, left.Count);
    }

    [Fact]
    public async Task CountReservations_PerStatusAndGpuType()
    {
        var first = await NewReservationAsync();
        await NewReservationAsync();
        await _store.TransitionAsync(new ReservationTransition(first.Id, ReservationStatus.Pending, ReservationStatus.Cancelled, "by owner", Time.GetUtcNow()), CancellationToken.None);

        var counts = await _ports.Statistics.CountReservationsAsync(CancellationToken.None);

        Assert.Equal([new ReservationCount("cancelled", "h100", 1), new ReservationCount("pending", "h100", 1)], counts.OrderBy(c => c.Status, StringComparer.Ordinal));
    }

    [Fact]
    public async Task List_ByIdPrefix_FindsFullIdsAndPrefixesOnly()
    {
        var mine = await NewReservationAsync();
        var other = await NewReservationAsync(userName: "zed");

        var byFullId = await _store.ListReservationsAsync(new ReservationQuery(mine.UserId, IdPrefix: mine.Id), CancellationToken.None);
        var byPrefix = await _store.ListReservationsAsync(new ReservationQuery(mine.UserId, IdPrefix: mine.Id[..6]), CancellationToken.None);
        var notMine = await _store.ListReservationsAsync(new ReservationQuery(mine.UserId, IdPrefix: other.Id), CancellationToken.None);
        var anyOwner = await _store.ListReservationsAsync(new ReservationQuery(IdPrefix: other.Id[..5]), CancellationToken.None);
        var longer = await _store.ListReservationsAsync(new ReservationQuery(IdPrefix: mine.Id + "0"), CancellationToken.None);
        var withNul = await _store.ListReservationsAsync(new ReservationQuery(IdPrefix: mine.Id[..4] + "\0"), CancellationToken.None);
        var emptyPrefix = await _store.ListReservationsAsync(new ReservationQuery(mine.UserId, IdPrefix: ""), CancellationToken.None);

        Assert.Equal([mine.Id], byFullId.Select(r => r.Id));
        Assert.Equal([mine.Id], byPrefix.Select(r => r.Id));
        Assert.Empty(notMine);
        Assert.Contains(other.Id, anyOwner.Select(r => r.Id));
        Assert.Empty(longer);
        Assert.Empty(withNul);
        Assert.Null(await _store.GetReservationAsync(mine.Id[..4] + "\0", CancellationToken.None));
        Assert.Equal([mine.Id], emptyPrefix.Select(r => r.Id));
    }

    [Fact]
    public async Task List_ManyReservations_EachGetsItsOwnDetails()
    {
        var first = await NewReservationAsync();
        var second = await NewReservationAsync();
        var untouched = await NewReservationAsync();
        await _store.TransitionAsync(ToPreparing(first, 0, 1), CancellationToken.None);
        await _store.TransitionAsync(ToPreparing(second, 2), CancellationToken.None);
        foreach (var r in new[] { first, second })
        {
            await _store.TransitionAsync(new ReservationTransition(r.Id, ReservationStatus.Preparing, ReservationStatus.Active, "ready", Time.GetUtcNow())
            {
                StartedAt = Time.GetUtcNow(), ExpiresAt = Time.GetUtcNow().AddHours(1), NodeEndpoints = [new SshEndpoint("node-0", 2200, "dev", null)],
            }, CancellationToken.None);
        }

        await _store.EditActiveAsync(new ReservationEdit(first.Id) { AddUsers = ["carol", "Bob"], At = Time.GetUtcNow() }, CancellationToken.None);
        await _store.EditActiveAsync(new ReservationEdit(second.Id) { AddUsers = ["dave"], At = Time.GetUtcNow() }, CancellationToken.None);
        await _store.RecordWarningsAsync(second.Id, [30, 15], 15, "ends in 15 minutes", Time.GetUtcNow(), new JobRequest(JobKind.Teardown, second.Id, Time.GetUtcNow()), CancellationToken.None);

        var listed = await _store.ListReservationsAsync(new ReservationQuery(first.UserId), CancellationToken.None);

        Assert.Equal([first.Id, second.Id, untouched.Id], listed.Select(r => r.Id));
        Assert.Equal([3, 3, 1], listed.Select(r => r.History.Count));
        Assert.Equal([[0, 1], [2], []], listed.Select(r => r.Allocations.SelectMany(a => a.GpuIndices)));
        Assert.Equal(["Bob", "carol"], listed[0].AddedUsers.Order(StringComparer.Ordinal));
        Assert.Equal(["dave"], listed[1].AddedUsers);
        Assert.Equal([0, 2, 0], listed.Select(r => r.Warnings.Count));
        Assert.Equal(2200, listed[1].Allocations.Single().Ssh!.Port);
        foreach (var r in listed)
        {
            var single = (await _store.GetReservationAsync(r.Id, CancellationToken.None))!;
            Assert.Equal(single.History, r.History);
            Assert.Equal(single.AddedUsers, r.AddedUsers);
            Assert.Equal(single.Warnings, r.Warnings);
            Assert.Equal(single.Allocations.Select(a => (a.Rank, a.Node, a.Ssh)), r.Allocations.Select(a => (a.Rank, a.Node, a.Ssh)));
        }
    }

    [Fact]
    public async Task EditActive_Extension_RecordsWhenAndClearsWarnings_OtherEditsKeepIt()
    {
        var r = await NewReservationAsync();
        await _store.TransitionAsync(ToPreparing(r, 0), CancellationToken.None);
        await _store.TransitionAsync(new ReservationTransition(r.Id, ReservationStatus.Preparing, ReservationStatus.Active, "ready", Time.GetUtcNow())
        {
            StartedAt = Time.GetUtcNow(), ExpiresAt = Time.GetUtcNow().AddHours(1),
        }, CancellationToken.None);
        await _store.RecordWarningsAsync(r.Id, [30], 30, "ends in 30 minutes", Time.GetUtcNow(), new JobRequest(JobKind.Warn, r.Id, Time.GetUtcNow()), CancellationToken.None);
        var extendedAt = Time.GetUtcNow().AddMinutes(40);

        await _store.EditActiveAsync(new ReservationEdit(r.Id) { ExpiresAt = Time.GetUtcNow().AddHours(3), ExtendedHours = 2, ClearWarnings = true, At = extendedAt }, CancellationToken.None);
        await _store.EditActiveAsync(new ReservationEdit(r.Id) { AddUsers = ["bob"], At = extendedAt.AddMinutes(5) }, CancellationToken.None);
        var edited = (await _store.GetReservationAsync(r.Id, CancellationToken.None))!;
        var listed = (await _store.ListReservationsAsync(new ReservationQuery(r.UserId), CancellationToken.None)).Single();

        Assert.Null(r.ExtendedAt);
        Assert.Equal(extendedAt, edited.ExtendedAt);
        Assert.Equal(extendedAt, listed.ExtendedAt);
        Assert.Equal(2, edited.ExtendedHours);
        Assert.Empty(edited.Warnings);
    }

    [Fact]
    public async Task Initialize_Twice_KeepsData()
    {
        var reservation = await NewReservationAsync();

        await _store.InitializeAsync(CancellationToken.None);

        Assert.NotNull(await _store.GetReservationAsync(reservation.Id, CancellationToken.None));
    }

    [Fact]
    public async Task Create_KeepsEnvironmentOptions()
    {
        var user = await _store.AddUserAsync("olga", null, false, Guid.NewGuid().ToString("N"), [TestKeys.Ed25519], CancellationToken.None);
        var options = new EnvironmentOptions
        {
            DockerImage = "nvcr.io/nvidia/pytorch:24.08-py3", PreserveEntrypoint = true,
            NodeLabels = new Dictionary<string, string> { ["nsight"] = "true", ["zone"] = "a" },
        };
        var reservation = new Reservation
        {
            Id = Guid.NewGuid().ToString("N"), UserId = user.Id, UserName = user.Name, GpuType = "h100", GpuCount = 1, Hours = 1,
            Status = ReservationStatus.Pending, CreatedAt = Time.GetUtcNow(), Options = options,
        };

        await _store.CreateReservationAsync(reservation, null, null, CancellationToken.None);

        var stored = (await _store.GetReservationAsync(reservation.Id, CancellationToken.None))!;
        Assert.Equal(options.DockerImage, stored.Options.DockerImage);
        Assert.True(stored.Options.PreserveEntrypoint);
        Assert.True(stored.Options.Nsight);
        Assert.Equal("a", stored.Options.NodeLabels["zone"]);
        Assert.True((await NewReservationAsync()).Options.IsDefault);
    }

    [Fact]
    public async Task AddNote_OnlyWhileInTheGivenStatus()
    {
        var reservation = await NewReservationAsync();

        Assert.True(await _store.AddNoteAsync(reservation.Id, ReservationStatus.Pending, "image pull failed: retrying", Time.GetUtcNow(), CancellationToken.None));
        Assert.False(await _store.AddNoteAsync(reservation.Id, ReservationStatus.Active, "not active", Time.GetUtcNow(), CancellationToken.None));
        Assert.False(await _store.AddNoteAsync("0000", ReservationStatus.Pending, "no such reservation", Time.GetUtcNow(), CancellationToken.None));

        var stored = (await _store.GetReservationAsync(reservation.Id, CancellationToken.None))!;
        Assert.Equal(ReservationStatus.Pending, stored.Status);
        var note = stored.History[^1];
        Assert.Equal((ReservationStatus.Pending, ReservationStatus.Pending, "image pull failed: retrying"), (note.From!.Value, note.To, note.Reason));
        Assert.Equal(2, stored.History.Count);
    }

    [Fact]
    public async Task Create_SameIdempotencyKey_ReturnsFirst()
    {
        var first = await NewReservationAsync("k");

        var user = (await _store.FindUserByNameAsync("alice", CancellationToken.None))!;
        var (again, created) = await _store.CreateReservationAsync(first with { Id = Guid.NewGuid().ToString("N") }, "k", null, CancellationToken.None);

        Assert.False(created);
        Assert.Equal(first.Id, again.Id);
        Assert.Single(await _store.ListReservationsAsync(new ReservationQuery(user.Id), CancellationToken.None));
    }

    [Fact]
    public async Task Transition_AllocatesRecordsHistoryAndEnqueuesInOneStep()
    {
        var reservation = await NewReservationAsync();

        Assert.True(await _store.TransitionAsync(ToPreparing(reservation, 0, 1), CancellationToken.None));

        var stored = (await _store.GetReservationAsync(reservation.Id, CancellationToken.None))!;
        Assert.Equal(ReservationStatus.Preparing, stored.Status);
        Assert.Equal([null, ReservationStatus.Pending], stored.History.Select(h => h.From));
        Assert.Equal([0, 1], stored.Allocations.Single().GpuIndices);
        Assert.Equal(2, (await _store.GetAllocationsAsync(CancellationToken.None)).Count);
        Assert.Equal(JobKind.Provision, Assert.Single(await _queue.ListAsync(CancellationToken.None)).Kind);
    }

    [Fact]
    public async Task Transition_GpuAlreadyTaken_ThrowsAndWritesNothing()
    {
        var first = await NewReservationAsync();
        var second = await NewReservationAsync();
        await _store.TransitionAsync(ToPreparing(first, 0, 1), CancellationToken.None);

        await Assert.ThrowsAsync<AllocationConflictException>(() => _store.TransitionAsync(ToPreparing(second, 1, 2), CancellationToken.None));

        var stored = (await _store.GetReservationAsync(second.Id, CancellationToken.None))!;
        Assert.Equal(ReservationStatus.Pending, stored.Status);
        Assert.Single(stored.History);
        Assert.Empty(stored.Allocations);
        Assert.All(await _store.GetAllocationsAsync(CancellationToken.None), a => Assert.Equal(first.Id, a.ReservationId));
        Assert.Single(await _queue.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Transition_FromStaleStatus_ReturnsFalse()
    {
        var reservation = await NewReservationAsync();

        var changed = await _store.TransitionAsync(new ReservationTransition(reservation.Id, ReservationStatus.Queued, ReservationStatus.Cancelled, "x", Time.GetUtcNow()), CancellationToken.None);

        Assert.False(changed);
        Assert.Equal(ReservationStatus.Pending, (await _store.GetReservationAsync(reservation.Id, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task Transition_Illegal_Throws()
    {
        var reservation = await NewReservationAsync();

        await Assert.ThrowsAsync<InvalidTransitionException>(() => _store.TransitionAsync(
            new ReservationTransition(reservation.Id, ReservationStatus.Pending, ReservationStatus.Active, "x", Time.GetUtcNow()), CancellationToken.None));
    }

    [Fact]
    public async Task Release_FreesOnlyThatReservation()
    {
        var first = await NewReservationAsync();
        var second = await NewReservationAsync();
        await _store.TransitionAsync(ToPreparing(first, 0), CancellationToken.None);
        await _store.TransitionAsync(ToPreparing(second, 1), CancellationToken.None);

        await _store.ReleaseAllocationsAsync(first.Id, CancellationToken.None);

        Assert.Equal(second.Id, Assert.Single(await _store.GetAllocationsAsync(CancellationToken.None)).ReservationId);
        Assert.Single((await _store.GetReservationAsync(first.Id, CancellationToken.None))!.Allocations);
    }

    [Fact]
    public async Task Claim_LeasedJob_NotClaimedAgainUntilLeaseExpires()
    {
        await _queue.EnqueueAsync(new JobRequest(JobKind.Teardown, "r1", Time.GetUtcNow()), CancellationToken.None);

        var first = await _queue.ClaimAsync("a", TimeSpan.FromMinutes(1), CancellationToken.None);
        var whileLeased = await _queue.ClaimAsync("b", TimeSpan.FromMinutes(1), CancellationToken.None);
        Time.Advance(TimeSpan.FromMinutes(2));
        var afterCrash = await _queue.ClaimAsync("b", TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.NotNull(first);
        Assert.Null(whileLeased);
        Assert.Equal(first!.Id, afterCrash!.Id);
        Assert.Equal(2, afterCrash.Attempts);
    }

    [Fact]
    public async Task Attempts_CountFailuresAndDeadWorkers_NotWaits()
    {
        await _queue.EnqueueAsync(new JobRequest(JobKind.Provision, "r1", Time.GetUtcNow()), CancellationToken.None);

        for (var i = 0; i < 5; i++)
        {
            // An environment still starting: the handler polls again without an error, many times.
            var waiting = await _queue.ClaimAsync("a", TimeSpan.FromMinutes(1), CancellationToken.None);
            Assert.Equal(1, waiting!.Attempts);
            await _queue.RetryAsync(waiting.Id, Time.GetUtcNow(), null, CancellationToken.None);
        }

        var failing = await _queue.ClaimAsync("a", TimeSpan.FromMinutes(1), CancellationToken.None);
        await _queue.RetryAsync(failing!.Id, Time.GetUtcNow(), "image pull failed", CancellationToken.None);
        var afterFailure = await _queue.ClaimAsync("a", TimeSpan.FromMinutes(1), CancellationToken.None);
        Time.Advance(TimeSpan.FromMinutes(2)); // its worker dies: the lease runs out
        var afterDeath = await _queue.ClaimAsync("b", TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.Equal(1, failing.Attempts);
        Assert.Equal(2, afterFailure!.Attempts);
        Assert.Equal(3, afterDeath!.Attempts);
        Assert.Equal("image pull failed", afterDeath.LastError);
    }

    [Fact]
    public async Task Retry_RunsAgainOnlyAfterDelay_CompleteRemoves()
    {
        await _queue.EnqueueAsync(new JobRequest(JobKind.Provision, "r1", Time.GetUtcNow()), CancellationToken.None);
        var job = (await _queue.ClaimAsync("a", TimeSpan.FromMinutes(1), CancellationToken.None))!;

        await _queue.RetryAsync(job.Id, Time.GetUtcNow().AddSeconds(10), "boom", CancellationToken.None);
        var early = await _queue.ClaimAsync("a", TimeSpan.FromMinutes(1), CancellationToken.None);
        Time.Advance(TimeSpan.FromSeconds(10));
        var later = await _queue.ClaimAsync("a", TimeSpan.FromMinutes(1), CancellationToken.None);
        await _queue.CompleteAsync(later!.Id, CancellationToken.None);

        Assert.Null(early);
        Assert.Equal("boom", later.LastError);
        Assert.Empty(await _queue.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Claim_ManyWorkersConcurrently_EachJobOnce()
    {
        for (var i = 0; i < 50; i++)
        {
            await _queue.EnqueueAsync(new JobRequest(JobKind.Teardown, $"r{i}", Time.GetUtcNow()), CancellationToken.None);
        }

        var claimed = new System.Collections.Concurrent.ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            while (await _queue.ClaimAsync($"w{w}", TimeSpan.FromMinutes(5), CancellationToken.None) is { } job)
            {
                claimed.Add(job.Id);
            }
        })));

        Assert.Equal(50, claimed.Count);
        Assert.Equal(50, claimed.Distinct().Count());
    }

    [Fact]
    public async Task SyncNodes_RemovedNode_GoesOffline()
    {
        await _store.SyncNodesAsync([new ComputeNode("a", "h100", 8, true), new ComputeNode("b", "t4", 4, true)], CancellationToken.None);

        await _store.SyncNodesAsync([new ComputeNode("a", "h100", 8, true)], CancellationToken.None);

        Assert.Equal("a", Assert.Single(await _store.GetNodesAsync(CancellationToken.None)).Name);
    }

    [Fact]
    public async Task List_ByStatusAndPrefix_Filters()
    {
        var first = await NewReservationAsync();
        var second = await NewReservationAsync(userName: "bob");
        await _store.TransitionAsync(ToPreparing(second, 0), CancellationToken.None);

        var pending = await _store.ListReservationsAsync(new ReservationQuery(Statuses: [ReservationStatus.Pending]), CancellationToken.None);
        var byPrefix = await _store.ListReservationsAsync(new ReservationQuery(IdPrefix: second.Id[..6]), CancellationToken.None);

        Assert.Equal(first.Id, Assert.Single(pending).Id);
        Assert.Equal("bob", Assert.Single(byPrefix).UserName);
    }

    [Fact]
    public async Task List_LiveOrEndedAfter_KeepsLiveAndLaterEndedOnly_ForAnyOwner()
    {
        var endedEarly = await NewReservationAsync();
        var endedAtCut = await NewReservationAsync();
        var endedLate = await NewReservationAsync(userName: "bob");
        var live = await NewReservationAsync(userName: "bob");
        await EndAsync(endedEarly, TimeSpan.FromHours(1));
        await EndAsync(endedAtCut, TimeSpan.FromHours(1));
        var cut = Time.GetUtcNow();
        await EndAsync(endedLate, TimeSpan.FromMilliseconds(1));

        var listed = await _store.ListReservationsAsync(new ReservationQuery(LiveOrEndedAfter: cut), CancellationToken.None);
        var bobs = await _store.ListReservationsAsync(new ReservationQuery(live.UserId, LiveOrEndedAfter: cut), CancellationToken.None);
        var alices = await _store.ListReservationsAsync(new ReservationQuery(endedEarly.UserId, LiveOrEndedAfter: cut), CancellationToken.None);

        Assert.Equal([endedLate.Id, live.Id], listed.Select(r => r.Id));
        Assert.Equal([endedLate.Id, live.Id], bobs.Select(r => r.Id));
        Assert.Empty(alices);
    }

    /// <summary>Cancels <paramref name="reservation"/> after <paramref name="after"/> on the test clock.</summary>
    private async Task EndAsync(Reservation reservation, TimeSpan after)
    {
        Time.Advance(after);
        var now = Time.GetUtcNow();
        Assert.True(await _store.TransitionAsync(
            new ReservationTransition(reservation.Id, reservation.Status, ReservationStatus.Cancelled, "cancelled", now) { EndedAt = now }, CancellationToken.None));
    }
}

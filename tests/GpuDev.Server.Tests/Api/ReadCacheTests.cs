using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Core.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Api;

/// <summary>The read cache (show, list) answers from memory only while the store's revision says nothing changed: every
/// write, through the API or behind its back, is seen by the next read; one caller's answer never reaches another.</summary>
public sealed class ReadCacheTests
{
    private static async Task<ReservationDto> ReserveAsync(HttpClient client)
    {
        var response = await client.PostAsJsonAsync(Routes.Reservations, new CreateReservationRequest { GpuType = "h100", GpuCount = 1, Hours = 1 },
            GpuDevJsonContext.Default.CreateReservationRequest, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto, TestContext.Current.CancellationToken))!;
    }

    private static async Task<ReservationDto> ShowAsync(HttpClient client, string id) =>
        (await client.GetFromJsonAsync(Routes.Reservation(id), GpuDevJsonContext.Default.ReservationDto, TestContext.Current.CancellationToken))!;

    private static async Task<List<ReservationDto>> ListAsync(HttpClient client, string query = "") =>
        (await client.GetFromJsonAsync(Routes.Reservations + query, GpuDevJsonContext.Default.ListReservationDto, TestContext.Current.CancellationToken))!;

    [Fact]
    public async Task Show_AskedAgainWithNoChange_ServedFromCacheWithTheSameBody()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var created = await ReserveAsync(alice);
        await ServerFixture.WaitForStatusAsync(alice, created.Id, "active");
        var revision = server.Services.GetRequiredService<IReservationRevision>();

        // Background workers may still write (a provider event's note, say); an attempt counts only when the revision
        // did not move between the two reads, and then the second must be a hit.
        for (var attempt = 0; ; attempt++)
        {
            using var reads = new CacheReads(server);
            var before = await revision.CurrentAsync(TestContext.Current.CancellationToken);
            var first = await alice.GetStringAsync(Routes.Reservation(created.Id), TestContext.Current.CancellationToken);
            var second = await alice.GetStringAsync(Routes.Reservation(created.Id), TestContext.Current.CancellationToken);
            if (await revision.CurrentAsync(TestContext.Current.CancellationToken) != before && attempt < 20)
            {
                continue;
            }

            Assert.NotNull(before);
            Assert.Equal(first, second);
            Assert.Contains("\"status\":\"active\"", second, StringComparison.Ordinal);
            // The first may be a hit already (the wait above read it last); the second must be one.
            Assert.Equal(2, reads.Results.Count);
            Assert.Equal("hit", reads.Results[1]);
            return;
        }
    }

    [Fact]
    public async Task Show_AfterChangesThroughTheApiAndBehindItsBack_AnswersWhatTheStoreHolds()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var created = await ReserveAsync(alice);
        var active = await ServerFixture.WaitForStatusAsync(alice, created.Id, "active");

        var extended = await alice.PatchAsJsonAsync(Routes.Reservation(created.Id), new EditReservationRequest { ExtendHours = 2 },
            GpuDevJsonContext.Default.EditReservationRequest, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, extended.StatusCode);
        Assert.Equal(active.ExpiresAt!.Value.AddHours(2), (await ShowAsync(alice, created.Id)).ExpiresAt);

        // Another process writing the same SQLite file (an operator's sqlite3, a second server): the triggers move the
        // revision in its transaction, so the next read does not reuse the answer cached above.
        await using (var other = new SqliteConnection($"Data Source={Path.Combine(server.DataDir, "gpu-dev.db")};Pooling=False"))
        {
            await other.OpenAsync(TestContext.Current.CancellationToken);
            await using var rename = other.CreateCommand();
            rename.CommandText = "UPDATE reservations SET name = 'renamed-elsewhere';";
            Assert.Equal(1, await rename.ExecuteNonQueryAsync(TestContext.Current.CancellationToken));
        }

        Assert.Equal("renamed-elsewhere", (await ShowAsync(alice, created.Id)).Name);

        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync(Routes.Reservation(created.Id), TestContext.Current.CancellationToken)).StatusCode);
        Assert.Equal("cancelled", (await ShowAsync(alice, created.Id)).Status);
    }

    [Fact]
    public async Task Show_OtherReservationChanges_StillServedFromCache_ItsOwnChange_ReadAgain()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var mine = await ReserveAsync(alice);
        await ServerFixture.WaitForStatusAsync(alice, mine.Id, "active");
        await server.SettleAsync();
        await ShowAsync(alice, mine.Id);

        using (var reads = new CacheReads(server))
        {
            var other = await ReserveAsync(alice);
            await ServerFixture.WaitForStatusAsync(alice, other.Id, "active");
            var shown = await ShowAsync(alice, mine.Id);
            Assert.Equal("active", shown.Status);
            Assert.Equal("hit", reads.Results[^1]);
        }

        using (var reads = new CacheReads(server))
        {
            var extended = await alice.PatchAsJsonAsync(Routes.Reservation(mine.Id), new EditReservationRequest { ExtendHours = 1 },
                GpuDevJsonContext.Default.EditReservationRequest, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, extended.StatusCode);
            Assert.Equal(1, (await ShowAsync(alice, mine.Id)).ExtendedHours);
            Assert.Equal(["miss"], reads.Results);
        }
    }

    [Fact]
    public async Task Show_CachedForTheOwner_OtherUserGets404_AdminGetsItWithTheirOwnRights()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        var bob = await server.ClientForAsync("bob");
        var admin = await server.ClientForAsync("root", admin: true);
        var created = await ReserveAsync(alice);
        await ServerFixture.WaitForStatusAsync(alice, created.Id, "active");
        await ShowAsync(alice, created.Id);

        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync(Routes.Reservation(created.Id), TestContext.Current.CancellationToken)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await bob.GetAsync(Routes.Reservation(created.Id), TestContext.Current.CancellationToken)).StatusCode);
        var seenByAdmin = await ShowAsync(admin, created.Id);
        Assert.True(seenByAdmin.CanEdit);
        Assert.NotNull(seenByAdmin.Ssh);

        var othersList = await ListAsync(bob, "?user=all");
        var summary = Assert.Single(othersList);
        Assert.Null(summary.Ssh);
        Assert.Null(summary.Name);
        Assert.Empty(await ListAsync(bob));
    }

    [Fact]
    public async Task List_AfterCreateAndCancel_AnswersTheNewSet()
    {
        await using var server = new ServerFixture();
        var alice = await server.ClientForAsync("alice");
        Assert.Empty(await ListAsync(alice));
        Assert.Empty(await ListAsync(alice));

        var created = await ReserveAsync(alice);
        Assert.Equal(created.Id, Assert.Single(await ListAsync(alice)).Id);
        await ServerFixture.WaitForStatusAsync(alice, created.Id, "active");
        Assert.Equal("active", Assert.Single(await ListAsync(alice)).Status);

        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync(Routes.Reservation(created.Id), TestContext.Current.CancellationToken)).StatusCode);
        Assert.Empty(await ListAsync(alice));
        Assert.Equal("cancelled", Assert.Single(await ListAsync(alice, "?all=true")).Status);
    }

    /// <summary>This server's cache reads in order (hit, miss), from its own meter, not other tests' servers'.</summary>
    private sealed class CacheReads : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<string> _results = [];

        public CacheReads(ServerFixture server)
        {
            var factory = server.Services.GetRequiredService<IMeterFactory>();
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "gpudev.read_cache.reads" && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "result")
                    {
                        lock (_results)
                        {
                            _results.Add((string)tag.Value!);
                        }
                    }
                }
            });
            _listener.Start();
        }

        public IReadOnlyList<string> Results
        {
            get
            {
                lock (_results)
                {
                    return [.. _results];
                }
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}

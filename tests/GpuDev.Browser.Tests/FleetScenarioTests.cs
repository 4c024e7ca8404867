using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GpuDev.Contracts;
using GpuDev.EndToEnd.Tests;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace GpuDev.Browser.Tests;

/// <summary>Issue 18's judged scenario on the fleet <c>h100:8,h100:8,t4:4</c>: a dozen running and queued reservations of
/// three users; the timeline read back from the page agrees with <c>gpu-dev show --json</c> and <c>gpu-dev avail --json</c>;
/// a cancel from the page shows within 5 s and the queue behind it moves up; screenshots on desktop, phone and dark.</summary>
public sealed class FleetScenarioTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    /// <summary>Containers starting (or going) on a loaded two-core machine.</summary>
    private static readonly TimeSpan s_settle = TimeSpan.FromSeconds(120);

    private static readonly BrowserNewContextOptions s_phone = new() { ViewportSize = new() { Width = 390, Height = 844 }, IsMobile = true, HasTouch = true, DeviceScaleFactor = 2 };

    [Fact]
    public async Task Fleet_DozenReservationsOfThreeUsers_TimelineAgreesWithCliAndFollowsACancel()
    {
        await using var site = await DashboardSite.StartAsync();
        var alice = await site.AddUserAsync("alice");
        var bob = await site.AddUserAsync("bob");
        var carol = await site.AddUserAsync("carol");
        await using (var empty = await browser.NewPageAsync(s_phone, "phone-empty"))
        {
            // Nothing runs yet: on a phone the timeline still shows every node, with its free lane.
            await site.SignInAsync(empty.Page, alice);
            await Expect(empty.Page.Locator("#timeline .tl-node")).ToHaveCountAsync(3);
            foreach (var node in await empty.Page.Locator("#timeline .tl-node").AllAsync())
            {
                await Expect(node).ToBeVisibleAsync();
            }

            await Screenshots.TakeAsync(empty.Page, "phone-empty");
        }

        // In this order the six running ones fill both h100 nodes and the t4 node; the six behind them queue (one on both h100 nodes).
        var requests = new (DashboardSite.User User, string Type, int Gpus, double Hours, string Name)[]
        {
            (alice, "h100", 4, 2, "alice-train"), (bob, "h100", 2, 1, "bob-debug"), (carol, "h100", 2, 3, "carol-eval"),
            (bob, "h100", 8, 1, "bob-pretrain"), (carol, "t4", 2, 3, "carol-notebook"), (alice, "t4", 2, 2, "alice-t4"),
            (bob, "t4", 2, 1, "bob-t4-next"), (carol, "t4", 1, 4, "carol-t4-long"), (carol, "h100", 8, 2, "carol-big"),
            (bob, "h100", 16, 1, "bob-multinode"), (alice, "h100", 1, 1, "alice-small"), (bob, "h100", 4, 2, "bob-sweep"),
        };
        var owners = new Dictionary<string, DashboardSite.User>(StringComparer.Ordinal);
        var created = new List<ReservationDto>();
        foreach (var (user, type, gpus, hours, name) in requests)
        {
            var reservation = await DashboardSite.ReserveAsync(user, type, gpus, name, wait: false, hours: hours, distributed: gpus > 8);
            owners[reservation.Id] = user;
            created.Add(reservation);
        }

        var running = created[..6];
        var queued = created[6..];
        await using var session = await browser.NewPageAsync(label: "desktop");
        var page = session.Page;
        await site.SignInAsync(page, alice);
        foreach (var r in running)
        {
            await Expect(Item(page, r.Id, "active").First).ToBeAttachedAsync(new() { Timeout = (float)s_settle.TotalMilliseconds });
        }

        foreach (var r in queued)
        {
            await Expect(Item(page, r.Id, "queued").First).ToBeAttachedAsync(new() { Timeout = (float)s_settle.TotalMilliseconds });
        }

        var agreed = await AgreementAsync(page, alice, owners);
        await Screenshots.TakeAsync(page, "desktop");
        // Every item lies wholly inside the timeline's window (it spans everything booked), not only in the document.
        var outOfWindow = await page.EvaluateAsync<string[]>("""
            () => {
              const lanes = document.querySelector('#timeline .vis-panel.vis-center').getBoundingClientRect();
              return [...document.querySelectorAll('#timeline .vis-item.vis-range')].map(i => [i.getBoundingClientRect(), i.querySelector('.tl-item')])
                .filter(([r]) => r.left < lanes.left - 1 || r.right > lanes.right + 1).map(([, s]) => s.getAttribute('aria-label'));
            }
            """);
        var html = await page.ContentAsync();
        var labels = await page.Locator("#timeline span.tl-item").EvaluateAllAsync<string[]>("spans => spans.map(s => s.getAttribute('aria-label'))");
        var shown = new List<ReservationDto>();
        foreach (var r in created)
        {
            shown.Add(await DashboardSite.ShowAsync(owners[r.Id], r.Id));
        }

        foreach (var (step, options) in new[] { ("phone", s_phone), ("dark", new BrowserNewContextOptions { ViewportSize = new() { Width = 1280, Height = 800 }, ColorScheme = ColorScheme.Dark }) })
        {
            await using var other = await browser.NewPageAsync(options, step);
            await site.SignInAsync(other.Page, alice);
            // The same items as on the desktop page, read from both at once (each polls on its own, and plans move).
            var (desktop, here) = await SameItemsAsync(page, other.Page);
            Assert.True(desktop.Length > 0 && desktop.SequenceEqual(here), $"{step}: the page shows [{string.Join(", ", here)}], the desktop [{string.Join(", ", desktop)}]");
            await Expect(other.Page.Locator("#timeline .vis-timeline")).ToBeVisibleAsync();
            await Screenshots.TakeAsync(other.Page, step);
            var overflow = await other.Page.EvaluateAsync<int>("document.documentElement.scrollWidth - window.innerWidth");
            Assert.True(overflow <= 0, $"{step}: the page is {overflow} px wider than the viewport");
        }

        // Alice cancels her running t4 reservation from the page; its GPUs go to bob's request, first of the two waiting
        // for t4, and carol's stays behind it.
        var cancelled = created[5];
        var (next, behind) = (shown[6], shown[7]);
        await page.Locator($"tr[data-reservation-row=\"{cancelled.Id}\"]").GetByRole(AriaRole.Button, new() { Name = "Cancel", Exact = true }).ClickAsync();
        var dialog = page.GetByRole(AriaRole.Dialog);
        await Expect(dialog).ToBeVisibleAsync();
        // The refresh the cancel asks for shows it, not the next poll (DashboardTests checks the poll apart).
        await PagePolling.StopAsync(page);
        await dialog.GetByRole(AriaRole.Button, new() { Name = "Cancel reservation" }).ClickAsync();
        var clock = Stopwatch.StartNew();
        await Expect(page.Locator($"span.tl-item[data-reservation-id=\"{cancelled.Id}\"]:not([data-status=\"ending\"])")).ToHaveCountAsync(0, new() { Timeout = 30_000 });
        TestContext.Current.TestOutputHelper?.WriteLine($"cancelled reservation updated on the page {clock.Elapsed.TotalSeconds:0.0} s after the confirmation");
        await PagePolling.ResumeAsync(page);
        await Screenshots.TakeAsync(page, "cancelled");
        // Also when the container's teardown outlasts the 10 s the server counts for it (carol's request used to jump
        // ahead then, and bob's to wait hours more).
        await Expect(Item(page, next.Id, "active").First).ToBeAttachedAsync(new() { Timeout = (float)s_settle.TotalMilliseconds });
        await Expect(page.Locator($"span.tl-item[data-reservation-id=\"{cancelled.Id}\"]")).ToHaveCountAsync(0, new() { Timeout = 60_000 });
        var agreedAfter = await AgreementAsync(page, alice, owners);
        await Screenshots.TakeAsync(page, "after-cancel");
        var cancelledShown = await DashboardSite.ShowAsync(alice, cancelled.Id);
        var nextShown = await DashboardSite.ShowAsync(bob, next.Id);
        var behindShown = await DashboardSite.ShowAsync(carol, behind.Id);

        Assert.Empty(agreed);
        Assert.Empty(outOfWindow);
        Assert.All(shown[..6], r => Assert.Equal("active", r.Status));
        Assert.All(shown[6..], r => Assert.True(r.Status == "queued" && r.EstimatedStartAt is not null, $"{r.Name}: {r.Status}, guaranteed start {r.EstimatedStartAt}"));
        Assert.Equal(2, shown[9].NodeCount);
        // Alice sees bob's and carol's reservations, never their names; hers with their names.
        Assert.All(created.Where(r => owners[r.Id] != alice), r => Assert.DoesNotContain(r.Name!, html, StringComparison.Ordinal));
        Assert.All(created.Where(r => owners[r.Id] == alice), r => Assert.Contains(labels, l => l.Contains(r.Name!, StringComparison.Ordinal)));
        Assert.Equal("cancelled", cancelledShown.Status);
        Assert.Equal("active", nextShown.Status);
        Assert.True(nextShown.StartedAt < next.EstimatedStartAt - TimeSpan.FromMinutes(30), $"bob's t4 request started {nextShown.StartedAt}, its guaranteed start was {next.EstimatedStartAt}");
        Assert.Equal("queued", behindShown.Status);
        Assert.True(behindShown.EstimatedStartAt >= nextShown.ExpiresAt, $"carol's t4 request is booked at {behindShown.EstimatedStartAt}, before bob's ends at {nextShown.ExpiresAt}");
        Assert.Empty(agreedAfter);
    }

    /// <summary>The timeline's items (reservation, node, status) on two pages, read until they agree, for up to a minute.</summary>
    private static async Task<(string[] First, string[] Second)> SameItemsAsync(IPage first, IPage second)
    {
        const string read = "spans => spans.map(s => [s.dataset.reservationId, s.dataset.node, s.dataset.status].join(' ')).sort()";
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var a = await first.Locator("#timeline span.tl-item").EvaluateAllAsync<string[]>(read);
            var b = await second.Locator("#timeline span.tl-item").EvaluateAllAsync<string[]>(read);
            if ((a.Length > 0 && a.SequenceEqual(b)) || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                return (a, b);
            }

            await Task.Delay(500);
        }
    }

    private static ILocator Item(IPage page, string id, string status) =>
        page.Locator($"#timeline span.tl-item[data-reservation-id=\"{id}\"][data-status=\"{status}\"]");

    /// <summary>Where the page and the CLI disagree (empty: they agree). Reads the page, then the CLI; while they disagree
    /// (the page polls every 5 s, the scheduler re-plans), reads both again after the page's next refresh, for up to a minute.</summary>
    private static async Task<List<string>> AgreementAsync(IPage page, DashboardSite.User viewer, IReadOnlyDictionary<string, DashboardSite.User> owners)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var refreshed = await page.Locator("#status").TextContentAsync();
            var problems = await DisagreementsAsync(page, viewer, owners);
            if (problems.Count == 0 || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                return problems;
            }

            await Expect(page.Locator("#status")).Not.ToHaveTextAsync(refreshed ?? "", new() { Timeout = 20_000 });
        }
    }

    private static async Task<List<string>> DisagreementsAsync(IPage page, DashboardSite.User viewer, IReadOnlyDictionary<string, DashboardSite.User> owners)
    {
        var nodes = (await page.Locator("#timeline .tl-node").EvaluateAllAsync<string[][]>(
                "labels => labels.map(l => [l.dataset.node, l.dataset.gpuType, l.dataset.gpus])"))
            .ToDictionary(n => n[0], n => (Type: n[1], Gpus: int.Parse(n[2], CultureInfo.InvariantCulture)), StringComparer.Ordinal);
        var items = (await page.Locator("#timeline span.tl-item").EvaluateAllAsync<string[][]>(
                "spans => spans.map(s => [s.dataset.reservationId, s.dataset.node, s.dataset.status, s.dataset.gpus, s.dataset.start, s.dataset.end])"))
            .Select(i => new PageItem(i[0], i[1], i[2], int.Parse(i[3], CultureInfo.InvariantCulture), DateTimeOffset.Parse(i[4], CultureInfo.InvariantCulture), DateTimeOffset.Parse(i[5], CultureInfo.InvariantCulture)))
            .ToList();
        var avail = JsonSerializer.Deserialize(E2e.Check(await viewer.Cli.RunAsync("avail", "--json")).Stdout, GpuDevJsonContext.Default.AvailabilityResponse)!;
        var problems = new List<string>();

        foreach (var (id, owner) in owners)
        {
            var r = await DashboardSite.ShowAsync(owner, id);
            var onPage = items.Where(i => i.Id == id).ToList();
            var where = string.Join(", ", onPage.Select(i => $"{i.Gpus} on {i.Node} {i.Status} {i.Start:u}–{i.End:u}"));
            switch (r.Status)
            {
                case "active":
                    var holds = string.Join(", ", r.Nodes.OrderBy(n => n.Node, StringComparer.Ordinal).Select(n => $"{n.GpuIndices.Count} on {n.Node} active {r.StartedAt:u}–{r.ExpiresAt:u}"));
                    var placed = onPage.OrderBy(i => i.Node, StringComparer.Ordinal).Select(i => (i.Node, i.Gpus))
                        .SequenceEqual(r.Nodes.OrderBy(n => n.Node, StringComparer.Ordinal).Select(n => (n.Node, n.GpuIndices.Count)));
                    if (!placed || onPage.Any(i => i.Status != "active" || i.Start != r.StartedAt || i.End != r.ExpiresAt))
                    {
                        problems.Add($"{r.Name} ({r.User}): the page shows [{where}], show --json [{holds}]");
                    }

                    break;
                case "queued" when r.EstimatedStartAt is { } start:
                    var end = start + TimeSpan.FromHours(r.Hours);
                    if (onPage.Count != r.NodeCount || onPage.Select(i => i.Node).Distinct().Count() != r.NodeCount
                        || onPage.Any(i => nodes[i.Node].Type != r.GpuType || i.Gpus != r.GpuCount / r.NodeCount || i.Status != "queued" || i.Start != start || i.End != end))
                    {
                        problems.Add($"{r.Name} ({r.User}): the page shows [{where}], show --json {r.GpuCount} × {r.GpuType} on {r.NodeCount} node(s) queued {start:u}–{end:u}");
                    }

                    break;
                case "cancelled" or "expired" or "failed":
                    if (onPage.Any(i => i.Status != "ending"))
                    {
                        problems.Add($"{r.Name} ({r.User}) is {r.Status}, the page shows [{where}]");
                    }

                    break;
                default:
                    problems.Add($"{r.Name} ({r.User}) is {r.Status} (guaranteed start {r.EstimatedStartAt}), the page shows [{where}]");
                    break;
            }
        }

        problems.AddRange(items.Where(i => !owners.ContainsKey(i.Id)).Select(i => $"the page shows an unknown reservation {i.Id}"));
        foreach (var (node, (_, gpus)) in nodes)
        {
            var on = items.Where(i => i.Node == node).ToList();
            foreach (var at in on.Select(i => i.Start))
            {
                var used = on.Where(i => i.Start <= at && at < i.End).Sum(i => i.Gpus);
                if (used > gpus)
                {
                    problems.Add($"{node}: the page books {used} of its {gpus} GPUs at {at:u}");
                }
            }
        }

        foreach (var type in avail.Types)
        {
            var typeNodes = nodes.Where(n => n.Value.Type == type.GpuType).Select(n => n.Key).ToList();
            var holding = items.Where(i => typeNodes.Contains(i.Node) && i.Status != "queued").ToList();
            var free = typeNodes.Sum(n => nodes[n].Gpus) - holding.Sum(i => i.Gpus);
            DateTimeOffset? nextFree = holding.Count == 0 ? null : holding.Min(i => i.End);
            var fullNodeFree = typeNodes.Any(n => holding.All(i => i.Node != n)) ? avail.At : typeNodes.Min(n => holding.Where(i => i.Node == n).Max(i => i.End));
            if (type.Free != free || type.NextFreeAt != nextFree || type.FullNodeFreeAt != fullNodeFree)
            {
                problems.Add($"{type.GpuType}: avail --json says {type.Free} free, next {type.NextFreeAt:u}, a whole node {type.FullNodeFreeAt:u}; "
                    + $"the page {free} free, next {nextFree:u}, a whole node {fullNodeFree:u}");
            }
        }

        if (avail.Types.Count != nodes.Values.Select(n => n.Type).Distinct().Count())
        {
            problems.Add($"avail --json lists {avail.Types.Count} GPU types, the page {string.Join(", ", nodes.Values.Select(n => n.Type).Distinct())}");
        }

        return problems;
    }

    private sealed record PageItem(string Id, string Node, string Status, int Gpus, DateTimeOffset Start, DateTimeOffset End);
}

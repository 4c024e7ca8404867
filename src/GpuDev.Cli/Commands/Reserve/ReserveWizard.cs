using System.Globalization;
using GpuDev.Cli.Client;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands.Reserve;

/// <summary>The questions <c>gpu-dev reserve</c> asks on a terminal for what the flags left out: GPU type and count (menus
/// with live availability), hours, Jupyter and name.</summary>
internal sealed class ReserveWizard(CliServices services)
{
    internal sealed record TypeChoice(GpuTypeDto Type, GpuAvailabilityDto? Availability, string Label);

    internal sealed record CountChoice(int Count, bool Multinode, string Label);

    /// <summary>The request completed by the answers. <paramref name="askHours"/>, <paramref name="askJupyter"/>: --hours,
    /// --jupyter was not given, so the request holds a default that is asked about instead.</summary>
    public async Task<CreateReservationRequest> PromptAsync(GpuDevClient client, CreateReservationRequest request, bool askHours, bool askJupyter, CancellationToken ct)
    {
        var console = services.Console;
        var catalog = await client.GetGpuTypesAsync(ct).ConfigureAwait(false);

        // Each menu fetches the counts when it is shown and again every MenuRefreshInterval while it is open:
        // GPUs free up (or get taken) while the user reads.
        var gpuType = request.GpuType;
        var type = catalog.Types.FirstOrDefault(t => t.Name == gpuType);
        if (gpuType is null)
        {
            var availability = await TryGetAvailabilityAsync(client, ct).ConfigureAwait(false);
            var choices = TypeChoices(catalog, availability);
            var shown = choices.Select(c => c.Type).ToList();
            var refresh = availability is null ? null : new MenuRefresh(services.MenuRefreshInterval, async t =>
                await TryGetAvailabilityAsync(client, t).ConfigureAwait(false) is { } fresh ? TypeLabels(catalog, shown, fresh) : null);
            var chosen = choices[console.Select("GPU type? (free now / total on this site)", choices.Select(c => c.Label).ToList(), ct, refresh)];
            (type, gpuType) = (chosen.Type, chosen.Type.Name);
        }

        var count = request.GpuCount;
        var distributed = request.Distributed;
        if (count is null && type is { CpuOnly: false })
        {
            var availability = await TryGetAvailabilityAsync(client, ct).ConfigureAwait(false);
            var choices = CountChoices(catalog, type, availability?.Types.FirstOrDefault(a => a.GpuType == gpuType), request.Distributed, services.Time.GetUtcNow());
            if (choices.Count > 1)
            {
                var refresh = availability is null ? null : new MenuRefresh(services.MenuRefreshInterval, async t =>
                {
                    var fresh = await TryGetAvailabilityAsync(client, t).ConfigureAwait(false);
                    var again = CountChoices(catalog, type, fresh?.Types.FirstOrDefault(a => a.GpuType == gpuType), request.Distributed, services.Time.GetUtcNow());
                    return fresh is not null && again.Select(c => c.Count).SequenceEqual(choices.Select(c => c.Count)) ? again.Select(c => c.Label).ToList() : null;
                });
                var chosen = choices[console.Select("How many GPUs?", choices.Select(c => c.Label).ToList(), ct, refresh)];
                count = chosen.Count;
                distributed |= chosen.Multinode;
            }
            else if (choices.Count == 1)
            {
                count = choices[0].Count;
            }
        }

        var hours = request.Hours;
        if (askHours)
        {
            while (true)
            {
                var answer = console.Ask($"Hours ({catalog.MinHours.ToString(CultureInfo.InvariantCulture)}–{catalog.MaxHours.ToString(CultureInfo.InvariantCulture)}, decimals allowed)?", "1", ct);
                if (CliNumbers.TryParseDecimal(answer, out hours) && hours >= catalog.MinHours && hours <= catalog.MaxHours)
                {
                    break;
                }

                console.Error.WriteLine($"hours must be a number between {catalog.MinHours.ToString(CultureInfo.InvariantCulture)} and {catalog.MaxHours.ToString(CultureInfo.InvariantCulture)}: {CliNumbers.DecimalRule}");
            }
        }

        var jupyter = request.Jupyter || (askJupyter && console.Confirm("Enable Jupyter Lab?", defaultValue: false, ct));

        var name = request.Name;
        if (name is null)
        {
            var answer = console.Ask("Name (optional)?", string.Empty, ct);
            name = string.IsNullOrWhiteSpace(answer) ? null : answer;
        }

        return request with { GpuType = gpuType, GpuCount = count, Hours = hours, Name = name, Jupyter = jupyter, Distributed = distributed };
    }

    /// <summary>The catalog's types with live counts, e.g. "h100      6/16 free  8×80 GB/GPU, …". Types with no nodes on
    /// this site are left out (all are shown when the server gave no availability, or none has nodes).</summary>
    internal static List<TypeChoice> TypeChoices(GpuTypesResponse catalog, AvailabilityResponse? availability)
    {
        var all = catalog.Types.Select(t => new TypeChoice(t, Find(availability, t), TypeLabel(catalog, t, availability))).ToList();
        var present = all.Where(c => c.Availability is { Nodes: > 0 }).ToList();
        return present.Count > 0 ? present : all;
    }

    /// <summary>The labels of <paramref name="shown"/> (the types the menu offers) with fresh counts.</summary>
    internal static IReadOnlyList<string> TypeLabels(GpuTypesResponse catalog, IReadOnlyList<GpuTypeDto> shown, AvailabilityResponse availability) =>
        shown.Select(t => TypeLabel(catalog, t, availability)).ToList();

    private static GpuAvailabilityDto? Find(AvailabilityResponse? availability, GpuTypeDto type) =>
        availability?.Types.FirstOrDefault(x => x.GpuType == type.Name);

    private static string TypeLabel(GpuTypesResponse catalog, GpuTypeDto t, AvailabilityResponse? availability)
    {
        var width = catalog.Types.Select(x => x.Name.Length).DefaultIfEmpty(4).Max();
        var a = Find(availability, t);
        var free = availability is null ? string.Empty
            : a is null || a.Nodes == 0 ? "no nodes here"
            : t.CpuOnly ? $"{I(a.Nodes)} node{(a.Nodes == 1 ? string.Empty : "s")}"
            : $"{I(a.Free)}/{I(a.Total)} free";
        var what = t.CpuOnly ? t.Description : $"{I(t.GpusPerNode)}×{I(t.MemoryGbPerGpu)} GB/GPU, {t.Description}";
        return availability is null ? $"{t.Name.PadRight(width)}  {what}" : $"{t.Name.PadRight(width)}  {free,-13}  {what}";
    }

    /// <summary>The server's availability, or null from a server without it (the menus then show no counts).</summary>
    private static async Task<AvailabilityResponse?> TryGetAvailabilityAsync(GpuDevClient client, CancellationToken ct)
    {
        try
        {
            return await client.GetAvailabilityAsync(ct).ConfigureAwait(false);
        }
        catch (CliException ex) when (ex.ExitCode == ExitCodes.Failure)
        {
            return null;
        }
    }

    /// <summary>Allowed counts that fit on one node ("4  (free now)", or one that waits: "8  (queues; starts in 2h 5m
    /// (16:05) or sooner)"), then multiples of a full node up to the site's total, which need --distributed
    /// ("16  (2 nodes, distributed)").</summary>
    internal static List<CountChoice> CountChoices(GpuTypesResponse catalog, GpuTypeDto type, GpuAvailabilityDto? avail, bool distributedHint, DateTimeOffset now)
    {
        var perNode = Math.Max(type.GpusPerNode, 1);
        var total = avail is { Total: > 0 } ? avail.Total : int.MaxValue;
        var choices = new List<CountChoice>();
        foreach (var c in catalog.AllowedGpuCounts.Where(c => c <= perNode && c <= total))
        {
            var note = avail is null ? string.Empty : c <= avail.LargestFreeBlock ? "  (free now)" : $"  ({QueueNote(avail, now)})";
            choices.Add(new CountChoice(c, false, I(c) + note));
        }

        foreach (var c in catalog.AllowedGpuCounts.Where(c => c > perNode && c % perNode == 0 && c <= total))
        {
            choices.Add(new CountChoice(c, true, $"{I(c)}  ({I(c / perNode)} nodes, distributed)"));
        }

        // With --distributed the multinode sizes come first.
        return distributedHint ? [.. choices.Where(c => c.Multinode), .. choices.Where(c => !c.Multinode)] : choices;
    }

    /// <summary>Until when a single-node count that does not fit now waits: a whole node of the type is free at
    /// <see cref="GpuAvailabilityDto.FullNodeFreeAt"/> (as the reservations holding GPUs stand now), so with nobody
    /// waiting the request starts then or sooner; with requests waiting, they go first.</summary>
    internal static string QueueNote(GpuAvailabilityDto avail, DateTimeOffset now)
    {
        if (avail.FullNodeFreeAt is not { } at || at <= now)
        {
            return "queues";
        }

        return avail.Queued == 0
            ? $"queues; starts {Format.Upcoming(at, now)} or sooner"
            : $"queues behind {I(avail.Queued)} waiting; a node frees {Format.Upcoming(at, now)}";
    }

    private static string I(int value) => value.ToString(CultureInfo.InvariantCulture);
}

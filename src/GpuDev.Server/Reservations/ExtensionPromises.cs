using System.Globalization;
using GpuDev.Core.Reservations;
using GpuDev.Core.Scheduling;
using GpuDev.Server.Processing;

namespace GpuDev.Server.Reservations;

/// <summary>An extension must not break a start promised to a waiting request: the guaranteed start never moves later
/// (issue 17). A holder's extension that would push a promised slot back is refused, saying by how much it could be
/// extended instead; one that delays nobody (the GPUs are not promised in that time) goes through.</summary>
internal static class ExtensionPromises
{
    /// <summary>The step the longest acceptable extension is given in.</summary>
    private static readonly TimeSpan s_step = TimeSpan.FromMinutes(5);

    /// <summary>Why extending <paramref name="reservation"/> by <paramref name="hours"/> is refused, or null when it
    /// keeps every promise.</summary>
    public static string? Check(FleetSnapshot fleet, Reservation reservation, double hours)
    {
        var promised = fleet.Promised();
        if (promised.Count == 0 || !fleet.EndsAt.TryGetValue(reservation.Id, out var end))
        {
            return null;
        }

        // Only the promises on this GPU type can wait for its GPUs (the planner books each type apart).
        var queue = fleet.Queue(fleet.Waiting.Where(r => string.Equals(r.GpuType, reservation.GpuType, StringComparison.OrdinalIgnoreCase)));
        List<DelayedPromise> DelayedIfEndingAt(DateTimeOffset at)
        {
            var ends = new Dictionary<string, DateTimeOffset>(fleet.EndsAt, StringComparer.Ordinal) { [reservation.Id] = at };
            return [.. BackfillPlanner.DelayedPromises(fleet.Now, fleet.Nodes, fleet.Allocations, ends, queue, promised)];
        }

        // Only what the extension itself breaks counts: a promise the fleet already cannot keep is not this one's doing.
        var already = DelayedIfEndingAt(end).ToDictionary(d => d.ReservationId, d => d.HeldFrom, StringComparer.Ordinal);
        List<DelayedPromise> Broken(TimeSpan by) =>
            [.. DelayedIfEndingAt(end + by).Where(d => !already.TryGetValue(d.ReservationId, out var from) || d.HeldFrom > from)];

        var broken = Broken(TimeSpan.FromHours(hours));
        if (broken.Count == 0)
        {
            return null;
        }

        // The longest extension in whole steps that breaks nothing (a binary search: more time never delays less).
        var (ok, bad) = (0L, (long)Math.Ceiling(TimeSpan.FromHours(hours) / s_step));
        while (bad - ok > 1)
        {
            var mid = (ok + bad) / 2;
            (ok, bad) = Broken(s_step * mid).Count == 0 ? (mid, bad) : (ok, mid);
        }

        var first = broken.MinBy(d => d.PromisedAt)!;
        var at = first.PromisedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var what = broken.Count == 1
            ? $"waiting request {first.ReservationId[..8]} past the start it was promised ({at})"
            : $"{broken.Count} waiting requests past the starts they were promised (the first, {first.ReservationId[..8]}, at {at})";
        var instead = ok == 0
            ? "its GPUs are promised from its current end, so it cannot be extended now"
            : string.Create(CultureInfo.InvariantCulture, $"extend by at most {(s_step * ok).TotalHours:0.##} h");
        return string.Create(CultureInfo.InvariantCulture,
            $"Extending {reservation.Id[..8]} by {hours:0.##} h would push back {what}; {instead}.");
    }
}

using System.Globalization;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Reservations;

/// <summary>Checks a new request against the caller's quotas (<see cref="QuotaOptions"/>) before it is stored: a request
/// over a limit is refused with the limit, the usage and when it frees, rather than queued to wait for ever.</summary>
internal sealed class Quotas(IReservationStore store, IOptions<QuotaOptions> options)
{
    public static readonly TimeSpan Window = TimeSpan.FromDays(7);

    /// <summary>Why <paramref name="caller"/> may not ask for <paramref name="gpuCount"/> GPUs for <paramref name="hours"/> now, or null.</summary>
    public async Task<Refusal?> CheckAsync(string callerId, int gpuCount, double hours, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var limits = options.Value;
        if (limits.MaxGpusPerUser is null && limits.MaxQueuedPerUser is null && limits.MaxGpuHoursPerWeek is null)
        {
            return null;
        }

        var mine = await store.ListReservationsAsync(new ReservationQuery(callerId), cancellationToken);
        var waiting = mine.Where(r => r.Status is ReservationStatus.Pending or ReservationStatus.Queued).ToList();
        if (limits.MaxQueuedPerUser is { } maxQueued && waiting.Count >= maxQueued)
        {
            return Over($"You have {waiting.Count} requests waiting, the most one user may (Quotas:MaxQueuedPerUser = {maxQueued}); "
                + "one frees when one of them starts or you cancel one (gpu-dev list).");
        }

        var holding = mine.Where(r => r.Status is ReservationStatus.Preparing or ReservationStatus.Active).OrderBy(r => r.ExpiresAt ?? DateTimeOffset.MaxValue).ToList();
        var held = holding.Sum(r => r.GpuCount);
        if (limits.MaxGpusPerUser is { } maxGpus && held + gpuCount > maxGpus)
        {
            if (gpuCount > maxGpus)
            {
                return Over($"This request asks for {gpuCount} GPUs; one user may hold at most {maxGpus} at once (Quotas:MaxGpusPerUser).");
            }

            // The first end after which what is left plus this request fits.
            var left = held;
            var frees = holding.FirstOrDefault(r => (left -= r.GpuCount) + gpuCount <= maxGpus);
            return Over($"You hold {held} GPUs; with this request's {gpuCount} that is over the {maxGpus} one user may hold at once "
                + $"(Quotas:MaxGpusPerUser){(frees?.ExpiresAt is { } at ? $"; enough frees when {frees.Id[..8]} ends at {Time(at)}" : "")}.");
        }

        if (limits.MaxGpuHoursPerWeek is { } maxHours)
        {
            var since = now - Window;
            var counted = mine.Where(r => r.CreatedAt > since).OrderBy(r => r.CreatedAt).Select(r => (r.CreatedAt, Hours: Charged(r, now))).ToList();
            var used = counted.Sum(c => c.Hours);
            var asked = gpuCount * hours;
            if (used + asked > maxHours)
            {
                var excess = used + asked - maxHours;
                var freed = 0.0;
                var frees = counted.FirstOrDefault(c => (freed += c.Hours) >= excess);
                var when = asked > maxHours || frees.Hours == 0 ? "" : $"; enough leaves the 7-day window at {Time(frees.CreatedAt + Window)}";
                return Over($"This request books {Number(asked)} GPU-hours; you have booked or used {Number(used)} of the {Number(maxHours)} one user may "
                    + $"in 7 days (Quotas:MaxGpuHoursPerWeek){when}.");
            }
        }

        return null;
    }

    /// <summary>Booked for live reservations (with extensions), used for ended ones.</summary>
    private static double Charged(Reservation r, DateTimeOffset now) => r.Status.IsLive() ? GpuHours.Booked(r) : GpuHours.Used(r, now);

    private static Refusal Over(string detail) => new(RefusalKind.QuotaExceeded, detail);

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}

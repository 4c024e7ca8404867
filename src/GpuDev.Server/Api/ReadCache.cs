using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using GpuDev.Core.Storage;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Api;

/// <summary>Serialized answers to reservation reads (show, list), each kept with the revisions read before its data was
/// (<see cref="IReservationRevision"/>): an answer is reused only while the store's revision is still the same, or, for
/// one reservation asked by its full id, while that reservation's revision is; so it is never older than what the store
/// holds when the request arrives. The key holds everything the answer depends on besides the store (the caller's id,
/// admin flag and GitHub login, the request's arguments). Where the store has no revisions (PostgreSQL) nothing is kept.
/// Bounded: everything is dropped when <see cref="MaxEntries"/> or <see cref="MaxBytes"/> would be passed.</summary>
public sealed class ReadCache
{
    public const int MaxEntries = 20_000;
    public const long MaxBytes = 64L * 1024 * 1024;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly IReservationRevision _revisions;
    private readonly JsonSerializerOptions _json;
    private readonly Counter<long> _reads;
    private readonly Lock _gate = new();
    private long _bytes;

    public ReadCache(IReservationRevision revisions, IOptions<JsonOptions> json, IMeterFactory meterFactory)
    {
        _revisions = revisions;
        _json = json.Value.SerializerOptions;
        _reads = meterFactory.Create(Observability.ServerMetrics.MeterName)
            .CreateCounter<long>("gpudev.read_cache.reads", description: "Reservation reads (show, list) by whether a kept answer served them (hit, miss, off).");
    }

    /// <summary>The kept answer for <paramref name="key"/> when it is still current; otherwise the stamp (revisions read
    /// now, before the caller reads the data) to <see cref="Store{T}"/> the new answer under.</summary>
    /// <param name="key">From <see cref="Key"/>.</param>
    /// <param name="reservationId">The full id of the one reservation the answer is about, if it is about one.</param>
    public async ValueTask<(JsonBody<T>? Hit, Stamp Stamp)> LookupAsync<T>(string key, string? reservationId, CancellationToken cancellationToken)
    {
        if (await _revisions.CurrentAsync(cancellationToken) is not { } revision)
        {
            _reads.Add(1, new KeyValuePair<string, object?>("result", "off"));
            return (null, default);
        }

        if (_entries.TryGetValue(key, out var entry))
        {
            if (entry.Revision == revision)
            {
                return Hit<T>(entry);
            }

            // Something changed somewhere; if not this reservation, its answer stands, now known current at this revision.
            if (entry.ReservationId is { } id && await _revisions.OfReservationAsync(id, cancellationToken) == entry.ReservationRevision)
            {
                _entries.TryUpdate(key, entry with { Revision = revision }, entry);
                return Hit<T>(entry);
            }
        }

        _reads.Add(1, new KeyValuePair<string, object?>("result", "miss"));
        var ofReservation = reservationId is null ? null : await _revisions.OfReservationAsync(reservationId, cancellationToken);
        return (null, new Stamp(revision, ofReservation is null ? null : reservationId, ofReservation));
    }

    /// <summary>Serializes <paramref name="value"/> once, keeps it under <paramref name="stamp"/> (from
    /// <see cref="LookupAsync{T}"/>, read before the data behind the value) and returns it as the response.</summary>
    public JsonBody<T> Store<T>(Stamp stamp, string key, T value)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(value, _json.GetTypeInfo(typeof(T)));
        if (stamp.Revision is { } revision)
        {
            lock (_gate)
            {
                if (_entries.Count >= MaxEntries || _bytes + body.Length > MaxBytes)
                {
                    _entries.Clear();
                    _bytes = 0;
                }

                var entry = new Entry(revision, stamp.ReservationId, stamp.ReservationRevision, body);
                _bytes += body.Length - (_entries.TryGetValue(key, out var old) ? old.Body.Length : 0);
                _entries[key] = entry;
            }
        }

        return new JsonBody<T>(body);
    }

    /// <summary>A cache key from its parts, which may hold any text (joined by a separator no argument can carry).</summary>
    public static string Key(params ReadOnlySpan<string?> parts) => string.Join('\u001f', parts.ToArray());

    private (JsonBody<T>? Hit, Stamp Stamp) Hit<T>(Entry entry)
    {
        _reads.Add(1, new KeyValuePair<string, object?>("result", "hit"));
        return (new JsonBody<T>(entry.Body), default);
    }

    /// <summary>The revisions an answer was read under (null revision: not to be kept).</summary>
    public readonly record struct Stamp(long? Revision, string? ReservationId, long? ReservationRevision);

    private sealed record Entry(long Revision, string? ReservationId, long? ReservationRevision, byte[] Body);
}

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text.Json;
using GpuDev.Core.Storage;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Api;

/// <summary>Serialized answers to reservation reads (show, list), each kept with the store revision read before its data
/// was: an answer is reused only while <see cref="IReservationRevision"/> still says that revision, so it is never older
/// than what the store holds when the request arrives. The key holds everything the answer depends on besides the store
/// (the caller's id, admin flag and GitHub login, the request's arguments). Where the store has no revision (PostgreSQL)
/// nothing is kept. Bounded: entries of older revisions are dropped when a newer one is stored, and everything when
/// <see cref="MaxEntries"/> or <see cref="MaxBytes"/> would be passed.</summary>
public sealed class ReadCache
{
    public const int MaxEntries = 20_000;
    public const long MaxBytes = 64L * 1024 * 1024;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly IReservationRevision _revision;
    private readonly JsonSerializerOptions _json;
    private readonly Counter<long> _reads;
    private readonly Lock _gate = new();
    private long _newest = long.MinValue;
    private long _bytes;

    public ReadCache(IReservationRevision revision, IOptions<JsonOptions> json, IMeterFactory meterFactory)
    {
        _revision = revision;
        _json = json.Value.SerializerOptions;
        _reads = meterFactory.Create(Observability.ServerMetrics.MeterName)
            .CreateCounter<long>("gpudev.read_cache.reads", description: "Reservation reads (show, list) by whether a cached answer served them (hit, miss, off).");
    }

    /// <summary>The revision to read under, before the data is read; null when nothing may be cached.</summary>
    public ValueTask<long?> RevisionAsync(CancellationToken cancellationToken) => _revision.CurrentAsync(cancellationToken);

    public bool TryGet<T>(long? revision, string key, out JsonBody<T> body)
    {
        if (revision is { } current && _entries.TryGetValue(key, out var entry) && entry.Revision == current)
        {
            _reads.Add(1, new KeyValuePair<string, object?>("result", "hit"));
            body = new JsonBody<T>(entry.Body);
            return true;
        }

        _reads.Add(1, new KeyValuePair<string, object?>("result", revision is null ? "off" : "miss"));
        body = null!;
        return false;
    }

    /// <summary>Serializes <paramref name="value"/> once, keeps it under <paramref name="revision"/> (read before the data
    /// behind it) and returns it as the response.</summary>
    public JsonBody<T> Store<T>(long? revision, string key, T value)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(value, _json.GetTypeInfo(typeof(T)));
        if (revision is { } current)
        {
            lock (_gate)
            {
                if (current > _newest || _entries.Count >= MaxEntries || _bytes + body.Length > MaxBytes)
                {
                    // A newer revision makes every kept answer useless (it can never be served again); the bounds, rarely.
                    _entries.Clear();
                    _bytes = 0;
                    _newest = Math.Max(_newest, current);
                }

                if (current == _newest)
                {
                    if (_entries.TryGetValue(key, out var old))
                    {
                        _bytes -= old.Body.Length;
                    }

                    _entries[key] = new Entry(current, body);
                    _bytes += body.Length;
                }
            }
        }

        return new JsonBody<T>(body);
    }

    /// <summary>A cache key from its parts, which may hold any text (a separator no header or argument can carry).</summary>
    public static string Key(params ReadOnlySpan<string?> parts) => string.Join('\u001f', parts.ToArray());

    private sealed record Entry(long Revision, byte[] Body);
}

using System.Collections.Concurrent;
using GpuDev.Core.Compute;
using GpuDev.Core.Disks;

namespace GpuDev.Testing;

/// <summary>Disks as in-memory file maps; a snapshot copies the current map.</summary>
public sealed class FakeDiskProvider(TimeProvider time) : IDiskProvider
{
    public ConcurrentDictionary<string, ConcurrentDictionary<string, long>> Data { get; } = new();

    public ConcurrentDictionary<(string Disk, string Snapshot), IReadOnlyList<(string Path, long Size)>> Snapshots { get; } = new();

    public ConcurrentBag<string> Purged { get; } = [];

    public Task CreateAsync(string diskId, CancellationToken cancellationToken)
    {
        Data.TryAdd(diskId, new());
        return Task.CompletedTask;
    }

    public Task<DiskSnapshot> SnapshotAsync(string diskId, string snapshotId, string? reservationId, CancellationToken cancellationToken)
    {
        var files = Data.GetOrAdd(diskId, _ => new()).Select(f => (f.Key, f.Value)).OrderBy(f => f.Key, StringComparer.Ordinal).ToList();
        Snapshots[(diskId, snapshotId)] = files;
        return Task.FromResult(new DiskSnapshot(snapshotId, diskId, time.GetUtcNow(), files.Sum(f => f.Value), files.Count, reservationId));
    }

    public Task<long> UsageAsync(string diskId, CancellationToken cancellationToken) =>
        Task.FromResult(Data.GetOrAdd(diskId, _ => new()).Values.Sum());

    public Task<IReadOnlyList<(string Path, long Size)>> ListContentAsync(string diskId, string snapshotId, CancellationToken cancellationToken) =>
        Task.FromResult(Snapshots.TryGetValue((diskId, snapshotId), out var files) ? files : []);

    public ConcurrentQueue<(string Disk, string Snapshot)> Restored { get; } = new();

    public Task RestoreAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        Data[diskId] = new(Snapshots[(diskId, snapshotId)].ToDictionary(f => f.Path, f => f.Size));
        Restored.Enqueue((diskId, snapshotId));
        return Task.CompletedTask;
    }

    public Task DeleteSnapshotAsync(string diskId, string snapshotId, CancellationToken cancellationToken)
    {
        Snapshots.TryRemove((diskId, snapshotId), out _);
        return Task.CompletedTask;
    }

    public Task PurgeAsync(string diskId, CancellationToken cancellationToken)
    {
        Data.TryRemove(diskId, out _);
        Purged.Add(diskId);
        return Task.CompletedTask;
    }
}

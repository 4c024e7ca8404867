using GpuDev.Compute.LocalHost.Disks;
using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost;

/// <summary>The one <see cref="LocalDiskStore"/> (<c>&lt;StateDir&gt;/disks</c>) shared by <see cref="LocalHostProvider"/>
/// and <see cref="LocalHostDiskProvider"/>. <see cref="GetAsync"/> runs the store's crash recovery once, before the first
/// use (a failed recovery is retried by the next caller).</summary>
internal sealed class LocalDisks(LocalDiskStore store)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private volatile bool _recovered;

    /// <summary>The store, without waiting for recovery: for path computations only.</summary>
    public LocalDiskStore Store { get; } = store;

    public static LocalDisks ForStateDir(string stateDir, TimeProvider timeProvider, ILogger logger) =>
        new(new LocalDiskStore(Path.Combine(Path.GetFullPath(stateDir), "disks"), timeProvider, logger));

    /// <summary>The store, recovered from any crash of an earlier run.</summary>
    public async Task<LocalDiskStore> GetAsync(CancellationToken cancellationToken)
    {
        if (_recovered)
        {
            return Store;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_recovered)
            {
                await Store.RecoverAsync(cancellationToken).ConfigureAwait(false);
                _recovered = true;
            }
        }
        finally
        {
            _gate.Release();
        }

        return Store;
    }
}

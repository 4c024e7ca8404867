using System.Collections.Concurrent;
using GpuDev.Core.Identity;
using GpuDev.Core.Storage;

namespace GpuDev.Server.Identity;

/// <summary>Who a token hash belongs to, remembered for a few seconds, so a busy client's every request does not look its
/// token up in the store (that lookup was a quarter of a read's cost). Only found users are remembered: a wrong token
/// always reaches the store and the failure limiter. A change to a user made on this replica (<see cref="Forget"/>) is
/// seen at once; one made on another replica within <see cref="Lifetime"/>.</summary>
internal sealed class TokenCache(IReservationStore store, TimeProvider timeProvider)
{
    /// <summary>How stale a user may be on a replica that did not make the change.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(5);

    /// <summary>A bound on memory whatever tokens are presented; the cache starts again when it is reached.</summary>
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, (User User, DateTimeOffset Until)> _users = new(StringComparer.Ordinal);

    public async Task<User?> FindAsync(string tokenHash, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (_users.TryGetValue(tokenHash, out var known) && known.Until > now)
        {
            return known.User;
        }

        var user = await store.FindUserByTokenHashAsync(tokenHash, cancellationToken);
        if (user is null)
        {
            _users.TryRemove(tokenHash, out _);
            return null;
        }

        if (_users.Count >= MaxEntries)
        {
            _users.Clear();
        }

        _users[tokenHash] = (user, now + Lifetime);
        return user;
    }

    /// <summary>Drops every remembered token of <paramref name="userId"/> (after a change to the user).</summary>
    public void Forget(string userId)
    {
        foreach (var (hash, entry) in _users)
        {
            if (entry.User.Id == userId)
            {
                _users.TryRemove(hash, out _);
            }
        }
    }
}

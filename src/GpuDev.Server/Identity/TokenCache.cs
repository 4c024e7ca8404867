using System.Collections.Concurrent;
using GpuDev.Core.Identity;

namespace GpuDev.Server.Identity;

/// <summary>Who a token hash belongs to, remembered for <see cref="Lifetime"/>, so a busy client's every request does not
/// look its token up in the store (that lookup was a quarter of a read's cost). Only tokens that authenticate are
/// remembered, never past their expiry: a wrong, revoked or expired token, or a disabled user's, always reaches the store
/// (and the failure limiter). A change made on this replica (<see cref="Forget"/>, <see cref="ForgetToken"/>) is seen
/// at once; one made on another replica within <see cref="Lifetime"/>.</summary>
internal sealed class TokenCache(IIdentityStore store, TimeProvider timeProvider)
{
    /// <summary>How stale a user or token may be on a replica that did not make the change: a disabled user's or revoked
    /// token's next request there is refused within this.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(1);

    /// <summary>A bound on memory whatever tokens are presented; the cache starts again when it is reached.</summary>
    private const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<string, (TokenMatch Match, DateTimeOffset Until)> _tokens = new(StringComparer.Ordinal);

    /// <summary>The token and its owner, whatever their state (null: no such token); see <see cref="Authenticates"/>.</summary>
    public async Task<TokenMatch?> FindAsync(string tokenHash, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        if (_tokens.TryGetValue(tokenHash, out var known) && known.Until > now)
        {
            return known.Match;
        }

        var match = await store.FindTokenAsync(tokenHash, cancellationToken);
        if (match is null || !Authenticates(match, now))
        {
            _tokens.TryRemove(tokenHash, out _);
            return match;
        }

        if (_tokens.Count >= MaxEntries)
        {
            _tokens.Clear();
        }

        var until = now + Lifetime;
        _tokens[tokenHash] = (match, until < match.Token.ExpiresAt ? until : match.Token.ExpiresAt);
        return match;
    }

    /// <summary>Whether the token lets its owner in at <paramref name="now"/>: not revoked, not expired, owner enabled.</summary>
    public static bool Authenticates(TokenMatch match, DateTimeOffset now) => match.Token.IsValidAt(now) && match.User.DisabledAt is null;

    /// <summary>Drops every remembered token of <paramref name="userId"/> (after a change to the user).</summary>
    public void Forget(string userId)
    {
        foreach (var (hash, entry) in _tokens)
        {
            if (entry.Match.User.Id == userId)
            {
                _tokens.TryRemove(hash, out _);
            }
        }
    }

    /// <summary>Drops one remembered token (after it was revoked).</summary>
    public void ForgetToken(string tokenId)
    {
        foreach (var (hash, entry) in _tokens)
        {
            if (entry.Match.Token.Id == tokenId)
            {
                _tokens.TryRemove(hash, out _);
            }
        }
    }
}

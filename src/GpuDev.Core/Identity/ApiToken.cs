namespace GpuDev.Core.Identity;

/// <summary>One of a user's tokens (never its secret: only its SHA-256 is stored). Every token expires; a revoked one
/// stays listed with when it was revoked.</summary>
public sealed record ApiToken(string Id, string UserId, string Name, TokenKind Kind, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? RevokedAt)
{
    /// <summary>Whether it authenticates at <paramref name="now"/>.</summary>
    public bool IsValidAt(DateTimeOffset now) => RevokedAt is null && now < ExpiresAt;
}

/// <summary>How a token came to be: printed by <c>gpu-dev-server user add</c> or the admin API (bootstrap), made by its
/// owner with <c>gpu-dev token create</c> (api), or issued by a login (session).</summary>
public enum TokenKind
{
    Bootstrap,
    Api,
    Session,
}

/// <summary>A presented token's owner and the token itself, whatever their state (the caller decides and says why).</summary>
public sealed record TokenMatch(User User, ApiToken Token);

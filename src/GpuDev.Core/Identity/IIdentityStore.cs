namespace GpuDev.Core.Identity;

/// <summary>Users' tokens, accounts and SSH keys as their owners and admins manage them over the API. (Creating a user
/// and finding one by name stay on the reservation store, which reservations need them from.)</summary>
public interface IIdentityStore
{
    /// <summary>The token with this SHA-256 and its owner, valid or not; null when no token has it.</summary>
    Task<TokenMatch?> FindTokenAsync(string tokenHash, CancellationToken cancellationToken);

    Task<ApiToken> CreateTokenAsync(string userId, string name, TokenKind kind, string tokenHash, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>The user's tokens, newest first, revoked and expired ones included.</summary>
    Task<IReadOnlyList<ApiToken>> ListTokensAsync(string userId, CancellationToken cancellationToken);

    /// <summary>Revokes one of the user's tokens; false when the user has no such token or it was revoked already.</summary>
    Task<bool> RevokeTokenAsync(string userId, string tokenId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Every user, by name.</summary>
    Task<IReadOnlyList<User>> ListUsersAsync(CancellationToken cancellationToken);

    /// <summary>Disables (<paramref name="at"/>) or enables (null) the user; false when no such user.</summary>
    Task<bool> SetDisabledAsync(string userId, DateTimeOffset? at, CancellationToken cancellationToken);

    Task<bool> SetAdminAsync(string userId, bool isAdmin, CancellationToken cancellationToken);

    /// <summary>Adds a normalized key line; false when the user has it already.</summary>
    Task<bool> AddSshKeyAsync(string userId, string key, CancellationToken cancellationToken);

    /// <summary>Removes a key line; false when the user does not have it.</summary>
    Task<bool> RemoveSshKeyAsync(string userId, string key, CancellationToken cancellationToken);

    /// <summary>The user a provider account (the ID token's issuer and subject) signs in as; null before its first login.</summary>
    Task<User?> FindUserByIdentityAsync(string issuer, string subject, CancellationToken cancellationToken);

    /// <summary>Creates a user for a provider account's first login, linked to it (no token yet); null when the name is
    /// taken (by another user) or the account is linked already (a concurrent first login).</summary>
    Task<User?> CreateUserWithIdentityAsync(string name, bool isAdmin, string issuer, string subject, CancellationToken cancellationToken);

    /// <summary>Records an ID token (its SHA-256) as exchanged; false when it was before (a replay). Forgets ones expired
    /// before <paramref name="now"/>.</summary>
    Task<bool> UseIdTokenAsync(string hash, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken);
}

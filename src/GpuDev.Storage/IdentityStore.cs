using System.Data.Common;
using GpuDev.Core.Identity;

namespace GpuDev.Storage;

/// <summary>Tokens, accounts and SSH keys (<see cref="IIdentityStore"/>) on either database.</summary>
public sealed class IdentityStore(SqlDatabase database, TimeProvider timeProvider) : IIdentityStore
{
    private const string TokenColumns = "t.id, t.user_id, t.name, t.kind, t.created_at, t.expires_at, t.revoked_at";

    public Task<TokenMatch?> FindTokenAsync(string tokenHash, CancellationToken cancellationToken) =>
        database.FirstOrDefaultAsync(
            $"SELECT {UserRows.Columns}, {TokenColumns} FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = @hash;",
            r => new TokenMatch(UserRows.Read(r), ReadToken(r, UserRows.Count)), cancellationToken, ("hash", tokenHash));

    public async Task<ApiToken> CreateTokenAsync(string userId, string name, TokenKind kind, string tokenHash, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var token = NewToken(userId, name, kind, timeProvider.GetUtcNow(), expiresAt);
        await database.ExecuteAsync(InsertTokenSql, cancellationToken, TokenParameters(token, tokenHash));
        return token;
    }

    /// <summary>A new token's record, its times at the store's millisecond precision (as it reads them back).</summary>
    internal static ApiToken NewToken(string userId, string name, TokenKind kind, DateTimeOffset now, DateTimeOffset expiresAt) =>
        new(Guid.NewGuid().ToString("N"), userId, name, kind, SqlTime.FromMs(SqlTime.ToMs(now)), SqlTime.FromMs(SqlTime.ToMs(expiresAt)), null);

    internal const string InsertTokenSql =
        "INSERT INTO tokens (id, user_id, name, kind, hash, created_at, expires_at) VALUES (@id, @user, @name, @kind, @hash, @created, @expires);";

    internal static (string, object?)[] TokenParameters(ApiToken token, string tokenHash) =>
    [
        ("id", token.Id), ("user", token.UserId), ("name", token.Name), ("kind", KindName(token.Kind)), ("hash", tokenHash),
        ("created", SqlTime.ToMs(token.CreatedAt)), ("expires", SqlTime.ToMs(token.ExpiresAt)),
    ];

    public async Task<IReadOnlyList<ApiToken>> ListTokensAsync(string userId, CancellationToken cancellationToken) =>
        await database.QueryAsync($"SELECT {TokenColumns} FROM tokens t WHERE t.user_id = @user ORDER BY t.created_at DESC, t.id;",
            r => ReadToken(r, 0), cancellationToken, ("user", userId));

    public async Task<bool> RevokeTokenAsync(string userId, string tokenId, DateTimeOffset at, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("UPDATE tokens SET revoked_at = @at WHERE id = @id AND user_id = @user AND revoked_at IS NULL;",
            cancellationToken, ("at", SqlTime.ToMs(at)), ("id", tokenId), ("user", userId)) == 1;

    public async Task<IReadOnlyList<User>> ListUsersAsync(CancellationToken cancellationToken) =>
        await database.QueryAsync($"SELECT {UserRows.Columns} FROM users u ORDER BY {database.Dialect.ByteOrder("u.name")};", r => UserRows.Read(r), cancellationToken);

    public async Task<bool> SetDisabledAsync(string userId, DateTimeOffset? at, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("UPDATE users SET disabled_at = @at::bigint WHERE id = @id;", cancellationToken, ("at", SqlTime.ToMs(at)), ("id", userId)) == 1;

    public async Task<bool> SetAdminAsync(string userId, bool isAdmin, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("UPDATE users SET is_admin = @admin WHERE id = @id;", cancellationToken, ("admin", isAdmin), ("id", userId)) == 1;

    public async Task<bool> AddSshKeyAsync(string userId, string key, CancellationToken cancellationToken) =>
        await database.ExecuteAsync(database.Dialect.InsertIgnoringDuplicate("ssh_keys (user_id, key) VALUES (@id, @key)"), cancellationToken, ("id", userId), ("key", key)) == 1;

    public async Task<bool> RemoveSshKeyAsync(string userId, string key, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM ssh_keys WHERE user_id = @id AND key = @key;", cancellationToken, ("id", userId), ("key", key)) == 1;

    public Task<User?> FindUserByIdentityAsync(string issuer, string subject, CancellationToken cancellationToken) =>
        database.FirstOrDefaultAsync($"SELECT {UserRows.Columns} FROM user_identities i JOIN users u ON u.id = i.user_id WHERE i.issuer = @iss AND i.subject = @sub;",
            r => UserRows.Read(r), cancellationToken, ("iss", issuer), ("sub", subject));

    public async Task<User?> CreateUserWithIdentityAsync(string name, bool isAdmin, string issuer, string subject, CancellationToken cancellationToken)
    {
        var user = new User(Guid.NewGuid().ToString("N"), name, null, isAdmin, SqlTime.FromMs(SqlTime.ToMs(timeProvider.GetUtcNow())));
        await using var session = await database.BeginWriteAsync(cancellationToken);
        try
        {
            // users.token_hash (unique, not null) is from before tokens had their own table: a value no token hashes to.
            await session.ExecuteAsync(
                "INSERT INTO users (id, name, is_admin, token_hash, created_at) VALUES (@id, @name, @admin, @none, @at);",
                cancellationToken, ("id", user.Id), ("name", name), ("admin", isAdmin), ("none", "none:" + user.Id), ("at", SqlTime.ToMs(user.CreatedAt)));
            await session.ExecuteAsync("INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES (@iss, @sub, @id, @at);",
                cancellationToken, ("iss", issuer), ("sub", subject), ("id", user.Id), ("at", SqlTime.ToMs(user.CreatedAt)));
            await session.CommitAsync(cancellationToken);
            return user;
        }
        catch (DbException e) when (database.Dialect.IsUniqueViolation(e))
        {
            return null;
        }
    }

    public async Task<bool> UseIdTokenAsync(string hash, DateTimeOffset expiresAt, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await database.ExecuteAsync("DELETE FROM used_id_tokens WHERE expires_at < @now;", cancellationToken, ("now", SqlTime.ToMs(now)));
        return await database.ExecuteAsync(database.Dialect.InsertIgnoringDuplicate("used_id_tokens (hash, expires_at) VALUES (@hash, @exp)"),
            cancellationToken, ("hash", hash), ("exp", SqlTime.ToMs(expiresAt))) == 1;
    }

    private static ApiToken ReadToken(DbDataReader r, int at) =>
        new(r.GetString(at), r.GetString(at + 1), r.GetString(at + 2), ParseKind(r.GetString(at + 3)), r.GetTime(at + 4), r.GetTime(at + 5), r.GetTimeOrNull(at + 6));

    private static string KindName(TokenKind kind) => kind.ToString().ToLowerInvariant();

    private static TokenKind ParseKind(string name) => Enum.Parse<TokenKind>(name, ignoreCase: true);
}

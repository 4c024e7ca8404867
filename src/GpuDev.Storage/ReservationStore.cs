using System.Text.Json;
using GpuDev.Core.Compute;
using GpuDev.Core.Identity;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;

namespace GpuDev.Storage;

/// <summary>Users, nodes and reservations (<see cref="IReservationStore"/>) on either database. Reads are here; the
/// writes, each one transaction with its history and follow-up job, are in ReservationStore.Writes.cs.</summary>
public sealed partial class ReservationStore(SqlDatabase database, TimeProvider timeProvider) : IReservationStore
{
    /// <summary>How long the token a new user is created with (<c>gpu-dev-server user add</c>, the admin API) lasts:
    /// long, as it may be the only way in on a site without a login provider.</summary>
    public static readonly TimeSpan BootstrapTokenLifetime = TimeSpan.FromDays(365);

    private SqlDialect Dialect => database.Dialect;

    public Task InitializeAsync(CancellationToken cancellationToken) => database.MigrateAsync(cancellationToken);

    public async Task<User> AddUserAsync(string name, string? githubUser, bool isAdmin, string tokenHash, IReadOnlyList<string> sshKeys, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var user = new User(Guid.NewGuid().ToString("N"), name, githubUser, isAdmin, now);
        await using var session = await database.BeginWriteAsync(cancellationToken);
        // users.token_hash is from before tokens had a table of their own (unique, not null): it keeps the first token's hash.
        await session.ExecuteAsync(
            "INSERT INTO users (id, name, github_user, is_admin, token_hash, created_at) VALUES (@id, @name, @gh::text, @admin, @hash, @at);",
            cancellationToken, ("id", user.Id), ("name", name), ("gh", githubUser), ("admin", isAdmin), ("hash", tokenHash), ("at", SqlTime.ToMs(user.CreatedAt)));
        var token = IdentityStore.NewToken(user.Id, "initial", TokenKind.Bootstrap, now, now + BootstrapTokenLifetime);
        await session.ExecuteAsync(IdentityStore.InsertTokenSql, cancellationToken, IdentityStore.TokenParameters(token, tokenHash));
        foreach (var key in sshKeys.Distinct(StringComparer.Ordinal))
        {
            await session.ExecuteAsync("INSERT INTO ssh_keys (user_id, key) VALUES (@id, @key);", cancellationToken, ("id", user.Id), ("key", key));
        }

        await session.CommitAsync(cancellationToken);
        return user;
    }

    public Task<User?> FindUserByNameAsync(string name, CancellationToken cancellationToken) =>
        database.FirstOrDefaultAsync($"SELECT {UserRows.Columns} FROM users u WHERE u.name = @v;", r => UserRows.Read(r), cancellationToken, ("v", name));

    public async Task<bool> SetGithubUserAsync(string userId, string? githubUser, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("UPDATE users SET github_user = @gh WHERE id = @id;", cancellationToken, ("gh", githubUser), ("id", userId)) == 1;

    public async Task<IReadOnlyList<string>> GetSshKeysAsync(string userId, CancellationToken cancellationToken) =>
        await database.QueryAsync($"SELECT key FROM ssh_keys WHERE user_id = @id ORDER BY {Dialect.ByteOrder("key")};", r => r.GetString(0), cancellationToken, ("id", userId));

    public async Task SyncNodesAsync(IReadOnlyList<ComputeNode> nodes, CancellationToken cancellationToken)
    {
        await using var session = await database.BeginWriteAsync(cancellationToken);
        if (Dialect.LockForWrite("nodes") is { } lockNodes)
        {
            // Replicas starting together sync in turn (their row locks would otherwise be taken in different orders).
            await session.ExecuteAsync(lockNodes, cancellationToken);
        }

        await session.ExecuteAsync("UPDATE nodes SET online = false;", cancellationToken);
        foreach (var node in nodes)
        {
            await session.ExecuteAsync(
                """
                INSERT INTO nodes (name, gpu_type, gpu_count, simulated, labels, online) VALUES (@name, @type, @count, @sim, @labels, true)
                ON CONFLICT (name) DO UPDATE SET gpu_type = excluded.gpu_type, gpu_count = excluded.gpu_count,
                    simulated = excluded.simulated, labels = excluded.labels, online = true;
                """,
                cancellationToken, ("name", node.Name), ("type", node.GpuType), ("count", node.GpuCount), ("sim", node.Simulated),
                ("labels", JsonSerializer.Serialize(node.Labels ?? new Dictionary<string, string>(), StorageJsonContext.Default.IReadOnlyDictionaryStringString)));
        }

        await session.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<ComputeNode>> GetNodesAsync(CancellationToken cancellationToken) =>
        await database.QueryAsync($"SELECT name, gpu_type, gpu_count, simulated, labels FROM nodes WHERE online = true ORDER BY {Dialect.ByteOrder("name")};",
            r => new ComputeNode(r.GetString(0), r.GetString(1), r.GetInt32(2), r.GetBoolean(3),
                JsonSerializer.Deserialize(r.GetString(4), StorageJsonContext.Default.IReadOnlyDictionaryStringString)),
            cancellationToken);

    public async Task<IReadOnlyList<GpuAllocation>> GetAllocationsAsync(CancellationToken cancellationToken) =>
        await database.QueryAsync($"SELECT node, gpu_index, reservation_id FROM gpu_allocations ORDER BY {Dialect.ByteOrder("node")}, gpu_index;",
            r => new GpuAllocation(r.GetString(0), r.GetInt32(1), r.GetString(2)), cancellationToken);

    public async Task<Reservation?> GetReservationAsync(string id, CancellationToken cancellationToken)
    {
        await using var session = await database.OpenAsync(cancellationToken);
        return await ReservationRows.LoadAsync(session, id, cancellationToken);
    }

    public async Task<IReadOnlyList<Reservation>> ListReservationsAsync(ReservationQuery query, CancellationToken cancellationToken)
    {
        var where = new List<string>();
        var parameters = new List<(string Name, object? Value)>();
        if (query.UserId is not null && query.OrAddedGithubUser is not null)
        {
            where.Add($"(r.user_id = @user OR r.id IN (SELECT reservation_id FROM reservation_users WHERE {Dialect.EqualsIgnoringCase("github_user", "@gh::text")}))");
            parameters.Add(("user", query.UserId));
            parameters.Add(("gh", query.OrAddedGithubUser));
        }
        else if (query.UserId is not null)
        {
            // With an id prefix, the primary-key range serves better than the user's index (SQLite would pick the latter).
            where.Add($"{(query.IdPrefix is { Length: > 0 and < 32 } ? Dialect.WithoutIndex("r.user_id") : "r.user_id")} = @user");
            parameters.Add(("user", query.UserId));
        }

        if (query.Statuses is { Count: > 0 } statuses)
        {
            where.Add(Dialect.InList("r.status", "status", [.. statuses.Select(s => s.ToWire())], parameters));
        }

        if (query.LiveOrEndedAfter is { } endedAfter)
        {
            where.Add("(r.ended_at IS NULL OR r.ended_at > @endedAfter::bigint)");
            parameters.Add(("endedAfter", SqlTime.ToMs(endedAfter)));
        }

        if (query.IdPrefix is { } prefix)
        {
            if (!Dialect.CanStore(prefix))
            {
                return []; // no stored id holds what the database cannot store
            }

            // Index-friendly: a full id is a primary-key lookup and a shorter prefix a key range, where a plain
            // substring comparison made the database walk every reservation of the user (or the whole table).
            if (prefix.Length == 32)
            {
                where.Add("r.id = @prefix::text");
                parameters.Add(("prefix", prefix));
            }
            else if (prefix.Length > 0)
            {
                where.Add(Dialect.KeyPrefix("r.id", "prefix", prefix, parameters));
            }
        }

        var sql = $"{ReservationRows.Select} {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : "")} ORDER BY r.seq;";
        await using var session = await database.OpenAsync(cancellationToken);
        var reservations = await session.QueryAsync(sql, ReservationRows.Read, cancellationToken, [.. parameters]);
        return reservations.Count == 0 ? reservations : await ReservationRows.WithDetailsAsync(session, reservations, cancellationToken);
    }
}

using GpuDev.Core.Identity;

namespace GpuDev.Storage.Tests;

public abstract partial class StoreContractTests
{
    [Fact]
    public async Task Migrate_UsersWithTheirOneTokenFromBefore_KeepSigningInWithABootstrapTokenForAYear()
    {
        // The database as it was before tokens had a table: the one token per user in users.token_hash.
        var migration = _ports.Database.Dialect.Migrations.Single(m => m.Contains("CREATE TABLE tokens", StringComparison.Ordinal));
        await using (var session = await _ports.Database.OpenAsync(CancellationToken.None))
        {
            await session.ExecuteAsync("DROP TABLE tokens;", CancellationToken.None);
            await session.ExecuteAsync("ALTER TABLE users DROP COLUMN disabled_at;", CancellationToken.None);
            await session.ExecuteAsync("INSERT INTO users (id, name, github_user, is_admin, token_hash, created_at) VALUES ('u1', 'olduser', NULL, true, 'oldhash', 0);", CancellationToken.None);
        }

        await using (var session = await _ports.Database.OpenAsync(CancellationToken.None))
        {
            await session.ExecuteAsync(migration, CancellationToken.None);
        }

        var match = await _ports.Identity.FindTokenAsync("oldhash", CancellationToken.None);
        Assert.NotNull(match);
        Assert.Equal(("olduser", true, null), (match.User.Name, match.User.IsAdmin, match.User.DisabledAt));
        Assert.Equal(("initial", TokenKind.Bootstrap, null), (match.Token.Name, match.Token.Kind, match.Token.RevokedAt));
        // A year from the migration, by the database's clock (the upgrade's day), not from when the user was made.
        Assert.InRange(match.Token.ExpiresAt, DateTimeOffset.UtcNow.AddDays(364), DateTimeOffset.UtcNow.AddDays(366));
    }
}

using GpuDev.Server.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace GpuDev.Server.Tests.Identity;

/// <summary>The token cache spares the store a lookup per request, but never answers for longer than its lifetime, forgets a
/// user changed on this replica at once, and never remembers a token that was not found.</summary>
public sealed class TokenCacheTests
{
    private static readonly CancellationToken s_ct = CancellationToken.None;

    [Fact]
    public async Task KnownToken_Remembered_ForItsLifetimeOnly_ForgetIsImmediate()
    {
        await using var server = new ServerFixture();
        var cache = server.Services.GetRequiredService<TokenCache>();
        var hash = Tokens.Hash(Tokens.Generate());
        var user = await server.Store.AddUserAsync("carol", "carol-gh", false, hash, [], s_ct);

        Assert.Equal("carol-gh", (await cache.FindAsync(hash, s_ct))!.User.GithubUser);
        await server.Store.SetGithubUserAsync(user.Id, "carol-new", s_ct);
        Assert.Equal("carol-gh", (await cache.FindAsync(hash, s_ct))!.User.GithubUser); // remembered: no store lookup

        server.Time.Advance(TokenCache.Lifetime + TimeSpan.FromSeconds(1));
        Assert.Equal("carol-new", (await cache.FindAsync(hash, s_ct))!.User.GithubUser);

        await server.Store.SetGithubUserAsync(user.Id, "carol-third", s_ct);
        cache.Forget(user.Id);
        Assert.Equal("carol-third", (await cache.FindAsync(hash, s_ct))!.User.GithubUser);
    }

    [Fact]
    public async Task UnknownToken_NotRemembered_FoundAsSoonAsItExists()
    {
        await using var server = new ServerFixture();
        var cache = server.Services.GetRequiredService<TokenCache>();
        var hash = Tokens.Hash(Tokens.Generate());

        Assert.Null(await cache.FindAsync(hash, s_ct));
        await server.Store.AddUserAsync("dave", null, false, hash, [], s_ct);

        Assert.Equal("dave", (await cache.FindAsync(hash, s_ct))!.User.Name);
    }
}

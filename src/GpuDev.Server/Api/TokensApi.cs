using GpuDev.Contracts;
using GpuDev.Core.Identity;
using GpuDev.Server.Audit;
using GpuDev.Server.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace GpuDev.Server.Api;

/// <summary>The caller's own tokens: list, create (the secret is shown once), revoke; and logout, which revokes the token
/// the request is made with. A revoked token stops working on this replica at once, on others within
/// <see cref="TokenCache.Lifetime"/>.</summary>
public static class TokensApi
{
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromDays(30);
    public static readonly TimeSpan MinLifetime = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(365);
    public const int MaxNameLength = 64;

    public static RouteGroupBuilder MapTokensApi(this RouteGroupBuilder api)
    {
        api.MapGet("/tokens", ListAsync).WithName("ListTokens").WithTags("Account");
        api.MapPost("/tokens", CreateAsync).WithName("CreateToken").WithTags("Account");
        api.MapDelete("/tokens/{id}", RevokeAsync).WithName("RevokeToken").WithTags("Account");
        api.MapPost("/me/logout", LogoutAsync).WithName("Logout").WithTags("Account");
        return api;
    }

    internal static async Task<Ok<List<TokenDto>>> ListAsync(CurrentUser caller, IIdentityStore identity, CancellationToken cancellationToken) =>
        TypedResults.Ok((await identity.ListTokensAsync(caller.Id, cancellationToken)).Select(t => t.ToDto(caller)).ToList());

    internal static async Task<Results<Created<CreatedTokenDto>, ProblemHttpResult>> CreateAsync(
        CurrentUser caller, CreateTokenRequest body, IIdentityStore identity, TimeProvider timeProvider, HttpContext http, CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        var name = body.Name?.Trim() is { Length: > 0 } given ? given : $"token {now:yyyy-MM-dd HH:mm}";
        if (name.Length > MaxNameLength || name.Any(char.IsControl))
        {
            return Problems.BadRequest($"A token name is 1-{MaxNameLength} printable characters; got {name.Length} characters.", "name");
        }

        var lifetime = body.TtlHours is { } hours ? TimeSpan.FromHours(hours) : DefaultLifetime;
        if (body.TtlHours is { } h && (!double.IsFinite(h) || lifetime < MinLifetime || lifetime > MaxLifetime))
        {
            return Problems.BadRequest($"A token lasts between {MinLifetime.TotalMinutes:0} minutes and {MaxLifetime.TotalDays:0} days (ttlHours {MinLifetime.TotalHours:0.###}-{MaxLifetime.TotalHours:0}); got {h}.", "ttlHours");
        }

        var secret = Tokens.Generate();
        var token = await identity.CreateTokenAsync(caller.Id, name, TokenKind.Api, Tokens.Hash(secret), now + lifetime, cancellationToken);
        http.Items[AuditMiddleware.TargetItem] = token.Id;
        return TypedResults.Created(Routes.Token(token.Id), new CreatedTokenDto(secret, token.ToDto(caller)));
    }

    internal static async Task<Results<Ok<TokenDto>, ProblemHttpResult>> RevokeAsync(
        CurrentUser caller, string id, IIdentityStore identity, TokenCache tokens, TimeProvider timeProvider, HttpContext http, CancellationToken cancellationToken)
    {
        var prefix = id.Trim().ToLowerInvariant();
        var mine = await identity.ListTokensAsync(caller.Id, cancellationToken);
        var matches = prefix.Length >= 4 ? mine.Where(t => t.Id.StartsWith(prefix, StringComparison.Ordinal)).ToList() : [];
        if (matches.Count != 1)
        {
            return matches.Count == 0
                ? Problems.NotFound($"No token of yours has an id starting '{(id.Length > 40 ? id[..40] + "…" : id)}' (give at least 4 characters; 'gpu-dev token list' shows them).")
                : Problems.Ambiguous($"'{prefix}' matches several of your tokens ({string.Join(", ", matches.Select(t => t.Id[..8]))}); give more characters.");
        }

        var token = matches[0];
        http.Items[AuditMiddleware.TargetItem] = token.Id;
        if (token.RevokedAt is not null)
        {
            return Problems.Conflict($"The token '{token.Name}' ({token.Id[..8]}) was revoked already, at {token.RevokedAt:yyyy-MM-dd HH:mm} UTC.");
        }

        var now = timeProvider.GetUtcNow();
        await identity.RevokeTokenAsync(caller.Id, token.Id, now, cancellationToken);
        tokens.ForgetToken(token.Id);
        return TypedResults.Ok((token with { RevokedAt = now }).ToDto(caller));
    }

    internal static async Task<Results<Ok<TokenDto>, ProblemHttpResult>> LogoutAsync(
        CurrentUser caller, IIdentityStore identity, TokenCache tokens, TimeProvider timeProvider, HttpContext http, CancellationToken cancellationToken)
    {
        if (caller.Token is not { } token)
        {
            return Problems.BadRequest("This request carries no token to revoke.", "authorization");
        }

        http.Items[AuditMiddleware.TargetItem] = token.Id;
        var now = timeProvider.GetUtcNow();
        await identity.RevokeTokenAsync(caller.Id, token.Id, now, cancellationToken);
        tokens.ForgetToken(token.Id);
        return TypedResults.Ok((token with { RevokedAt = now }).ToDto(caller));
    }

    internal static TokenDto ToDto(this ApiToken token, CurrentUser caller) =>
        new(token.Id, token.Name, token.Kind.ToString().ToLowerInvariant(), token.CreatedAt, token.ExpiresAt, token.RevokedAt, token.Id == caller.Token?.Id);
}

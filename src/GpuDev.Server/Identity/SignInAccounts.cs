using System.Text.RegularExpressions;
using GpuDev.Core.Identity;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Identity;

/// <summary>What every way of signing in shares once the outside identity is proven: the gpu-dev user linked to it
/// (found, or created on its first sign-in where allowed) and the session token issued to them.</summary>
internal sealed partial class SignInAccounts(IIdentityStore identity, IOptions<AuthOptions> options, TimeProvider timeProvider)
{
    /// <summary>The user linked to (<paramref name="issuer"/>, <paramref name="subject"/>), or a new one named after the
    /// first usable of <paramref name="names"/>; or why not.</summary>
    public async Task<(User? User, bool Created, string Refusal)> FindOrCreateAsync(
        string issuer, string subject, IEnumerable<string?> names, bool admin, CancellationToken cancellationToken)
    {
        if (await identity.FindUserByIdentityAsync(issuer, subject, cancellationToken) is { } known)
        {
            return (known, false, "");
        }

        if (!options.Value.CreateUsers)
        {
            return (null, false, "This account has no gpu-dev user yet and this server does not create users at sign-in; ask an admin.");
        }

        var name = names.Select(UserName).FirstOrDefault(n => n is not null);
        if (name is null)
        {
            return (null, false, $"No gpu-dev user name can be made from this account: {UserNames.Rule}.");
        }

        if (await identity.CreateUserWithIdentityAsync(name, admin, issuer, subject, cancellationToken) is { } created)
        {
            return (created, true, "");
        }

        // A concurrent first sign-in of the same account created it; otherwise the name belongs to someone else.
        return await identity.FindUserByIdentityAsync(issuer, subject, cancellationToken) is { } raced
            ? (raced, false, "")
            : (null, false, $"A gpu-dev user named '{name}' exists already and is not linked to this account; ask an admin.");
    }

    /// <summary>A session token for <paramref name="user"/>, or why not (a disabled account).</summary>
    public async Task<(SignedIn? SignedIn, string Refusal)> IssueAsync(User user, bool created, string? tokenName, CancellationToken cancellationToken)
    {
        if (user.DisabledAt is not null)
        {
            return (null, $"The account '{user.Name}' is disabled; ask an admin to enable it.");
        }

        var secret = Tokens.Generate();
        var name = tokenName?.Trim() is { Length: > 0 and <= 64 } given && !given.Any(char.IsControl) ? given : "login";
        var expires = timeProvider.GetUtcNow() + options.Value.SessionLifetime;
        var token = await identity.CreateTokenAsync(user.Id, name, TokenKind.Session, Tokens.Hash(secret), expires, cancellationToken);
        return (new SignedIn(user, token, secret, created), "");
    }

    /// <summary>A valid gpu-dev user name from an outside name: lower case, other characters as '-', at most 32.</summary>
    public static string? UserName(string? outside)
    {
        if (string.IsNullOrWhiteSpace(outside))
        {
            return null;
        }

        var name = NotAllowed().Replace(outside.Trim().ToLowerInvariant(), "-").Trim('-', '_');
        name = name.Length > 32 ? name[..32].TrimEnd('-', '_') : name;
        return UserNames.IsValid(name) ? name : null;
    }

    [GeneratedRegex("[^a-z0-9_-]")]
    private static partial Regex NotAllowed();
}

/// <summary>A sign-in's result: the user, their new session token (record and secret) and whether it created the user.</summary>
internal sealed record SignedIn(User User, ApiToken Token, string Secret, bool Created);

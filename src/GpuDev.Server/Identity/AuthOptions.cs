namespace GpuDev.Server.Identity;

/// <summary>Sign-in (section <c>Auth</c>): who may sign in with the site's OpenID provider and for how long a login's
/// token lasts. Without <c>Auth:Oidc:Authority</c> there is no sign-in: users get tokens from an admin.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>How long a login's session token lasts.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Whether a provider account's first login creates its user (else an admin must have linked it).</summary>
    public bool CreateUsers { get; set; } = true;

    /// <summary>Email domains whose (verified) addresses may sign in; empty: any (the provider is the site's own).</summary>
    public List<string> AllowedDomains { get; set; } = [];

    /// <summary>Groups (the ID token's groups claim) any of which lets an account sign in; empty: any account.</summary>
    public List<string> AllowedGroups { get; set; } = [];

    /// <summary>Groups whose members are made admins when their user is created by a login.</summary>
    public List<string> AdminGroups { get; set; } = [];

    public OidcOptions Oidc { get; set; } = new();
}

/// <summary>The site's OpenID provider (<c>Auth:Oidc</c>).</summary>
public sealed class OidcOptions
{
    /// <summary>The issuer URL; its discovery document is at <c>{Authority}/.well-known/openid-configuration</c>.</summary>
    public string? Authority { get; set; }

    /// <summary>The public client the CLI uses for the device authorization grant.</summary>
    public string ClientId { get; set; } = "gpu-dev-cli";

    /// <summary>Audiences an ID token may carry; empty: <see cref="ClientId"/>.</summary>
    public List<string> Audiences { get; set; } = [];

    public string Scopes { get; set; } = "openid email profile";

    /// <summary>Signature algorithms accepted (an allow-list: <c>none</c> and HMAC never are).</summary>
    public List<string> Algorithms { get; set; } = ["RS256", "PS256", "ES256"];

    /// <summary>Whether the provider must be reached over HTTPS (off only for tests and loopback providers).</summary>
    public bool RequireHttps { get; set; } = true;

    /// <summary>The claim a new user's name comes from (then the email's local part).</summary>
    public string UserNameClaim { get; set; } = "preferred_username";

    public string GroupsClaim { get; set; } = "groups";

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);
}

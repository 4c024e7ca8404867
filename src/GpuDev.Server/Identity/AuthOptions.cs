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

    public AwsOptions Aws { get; set; } = new();
}

/// <summary>Signing in with AWS credentials (<c>Auth:Aws</c>), as Vault's AWS auth and aws-iam-authenticator do: the CLI
/// signs an <c>sts:GetCallerIdentity</c> request with the user's credentials without sending it; the server sends it to
/// STS, which answers with the caller's ARN when (and only when) the signature is theirs.</summary>
public sealed class AwsOptions
{
    public bool Enabled { get; set; }

    /// <summary>Where the signed request goes (a regional endpoint keeps it in the region; a test's fake STS in tests).</summary>
    public string StsEndpoint { get; set; } = "https://sts.amazonaws.com/";

    /// <summary>The signing region for <see cref="StsEndpoint"/>.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>AWS accounts whose principals may sign in (required when enabled).</summary>
    public List<string> AllowedAccounts { get; set; } = [];

    /// <summary>IAM role names whose sessions are made admins when their user is created by a sign-in.</summary>
    public List<string> AdminRoles { get; set; } = [];

    /// <summary>The value of the signed <c>X-GpuDev-Server-Id</c> header this server requires (say, its URL): a request
    /// signed for another server (or captured from one) does not sign in here.</summary>
    public string ServerId { get; set; } = "gpu-dev";
}

/// <summary>The site's OpenID provider (<c>Auth:Oidc</c>).</summary>
public sealed class OidcOptions
{
    /// <summary>The issuer URL; its discovery document is at <c>{Authority}/.well-known/openid-configuration</c>.</summary>
    public string? Authority { get; set; }

    /// <summary>The public client the CLI uses for the device authorization grant.</summary>
    public string ClientId { get; set; } = "gpu-dev-cli";

    /// <summary>The client the web dashboard signs in with (authorization code flow with PKCE, redirect URI
    /// <c>&lt;server&gt;/ui/signin/oidc/callback</c>); empty: <see cref="ClientId"/> (a provider client allowed both grants).</summary>
    public string? WebClientId { get; set; }

    /// <summary>The web client's secret, where the provider made it a confidential client (sent with HTTP Basic);
    /// empty: a public client, PKCE alone.</summary>
    public string? WebClientSecret { get; set; }

    /// <summary>Signing out of the dashboard also ends the session at the provider (OpenID Connect RP-Initiated Logout:
    /// the browser goes to its <c>end_session_endpoint</c> and comes back to <c>&lt;server&gt;/ui/signin</c>, which must
    /// be registered there as a post-logout redirect URI). Off: only the dashboard's session ends.</summary>
    public bool SignOutAtProvider { get; set; }

    /// <summary>Audiences an ID token may carry; empty: <see cref="ClientId"/> and <see cref="WebClientId"/>.</summary>
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

    /// <summary>The dashboard's client: <see cref="WebClientId"/>, else the CLI's.</summary>
    public string WebClient => string.IsNullOrWhiteSpace(WebClientId) ? ClientId : WebClientId;

    /// <summary>The audiences an ID token may carry: as configured, else the CLI's and the dashboard's clients.</summary>
    public IReadOnlyList<string> ValidAudiences => Audiences.Count > 0 ? Audiences : [.. new[] { ClientId, WebClient }.Distinct(StringComparer.Ordinal)];
}

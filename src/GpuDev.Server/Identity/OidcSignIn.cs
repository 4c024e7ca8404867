using GpuDev.Core.Identity;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace GpuDev.Server.Identity;

/// <summary>Exchanges an ID token from the site's OpenID provider (got by the CLI's device-code login) for a gpu-dev
/// session token. The token is validated with Microsoft.IdentityModel against the provider's published keys (discovery
/// and JWKS, refreshed when a token names a key not seen yet: key rotation), issuer, audience and an algorithm
/// allow-list; its times against this server's clock; and it is good for one exchange (a replay is refused). The
/// provider account (issuer, subject) is the user: found, or created on its first login where allowed.</summary>
internal sealed partial class OidcSignIn
{
    private static readonly TimeSpan s_clockSkew = TimeSpan.FromMinutes(1);
    /// <summary>How many times (50 ms apart) a sign-in waits for the provider's keys to be read again: at most 1 s.</summary>
    private const int KeyRefreshPolls = 20;

    private readonly AuthOptions _options;
    private readonly IIdentityStore _identity;
    private readonly SignInAccounts _accounts;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<OidcSignIn> _logger;
    private readonly ConfigurationManager<OpenIdConnectConfiguration>? _provider;
    private readonly JsonWebTokenHandler _handler = new();

    public OidcSignIn(IOptions<AuthOptions> options, IIdentityStore identity, SignInAccounts accounts, TimeProvider timeProvider, ILogger<OidcSignIn> logger)
    {
        _options = options.Value;
        _identity = identity;
        _accounts = accounts;
        _timeProvider = timeProvider;
        _logger = logger;
        if (_options.Oidc.Enabled)
        {
            var discovery = $"{Authority}/.well-known/openid-configuration";
            _provider = new ConfigurationManager<OpenIdConnectConfiguration>(discovery, new OpenIdConnectConfigurationRetriever(),
                new HttpDocumentRetriever { RequireHttps = _options.Oidc.RequireHttps })
            {
                // A token naming an unknown key asks for a refresh at most this often (forged kids cannot hammer the provider).
                RefreshInterval = TimeSpan.FromSeconds(10),
            };
        }
    }

    public bool Enabled => _provider is not null;

    private string Authority => _options.Oidc.Authority!.TrimEnd('/');

    /// <summary>The provider's discovery document (its endpoints and keys), read once and again when it is stale.</summary>
    public Task<OpenIdConnectConfiguration> GetConfigurationAsync(CancellationToken cancellationToken) =>
        _provider?.GetConfigurationAsync(cancellationToken) ?? throw new InvalidOperationException("no OpenID provider is configured");

    /// <summary>The session token and who it is for; or why not (401: the ID token; 403: the account). A browser's
    /// sign-in passes the <paramref name="nonce"/> it sent with the authorization request: the token must carry it.</summary>
    public async Task<(SignedIn? SignedIn, int Status, string Refusal)> SignInAsync(
        string idToken, string? tokenName, string? nonce, CancellationToken cancellationToken)
    {
        var again = nonce is null ? "Sign in again with 'gpu-dev login'." : "Sign in again.";
        var (token, why) = await ValidateAsync(idToken, cancellationToken);
        if (token is not null && nonce is not null && !(token.TryGetPayloadValue<string>("nonce", out var carried) && carried == nonce))
        {
            (token, why) = (null, "it was not issued for this browser's sign-in (its nonce differs)");
        }

        if (token is null)
        {
            LogRefused(_logger, why);
            return (null, StatusCodes.Status401Unauthorized, $"The ID token was refused: {why}. {again}");
        }

        var now = _timeProvider.GetUtcNow();
        if (!await _identity.UseIdTokenAsync(Tokens.Hash(idToken), token.ValidTo, now, cancellationToken))
        {
            LogRefused(_logger, "replayed");
            return (null, StatusCodes.Status401Unauthorized, $"The ID token was refused: it was exchanged before (each sign-in's token is good once). {again}");
        }

        var (user, created, refusal) = await FindOrCreateUserAsync(token, cancellationToken);
        if (user is null)
        {
            LogRefused(_logger, refusal);
            return (null, StatusCodes.Status403Forbidden, refusal);
        }

        var (signedIn, notIssued) = await _accounts.IssueAsync(user, created, tokenName, cancellationToken);
        if (signedIn is null)
        {
            return (null, StatusCodes.Status403Forbidden, notIssued);
        }

        LogSignedIn(_logger, user.Name, created);
        return (signedIn, StatusCodes.Status200OK, "");
    }

    private async Task<(JsonWebToken? Token, string Why)> ValidateAsync(string idToken, CancellationToken cancellationToken)
    {
        if (!_handler.CanReadToken(idToken))
        {
            return (null, "it is not a JWT");
        }

        OpenIdConnectConfiguration configuration;
        try
        {
            configuration = await _provider!.GetConfigurationAsync(cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            return (null, $"the OpenID provider's keys could not be read ({e.Message})");
        }

        var result = await _handler.ValidateTokenAsync(idToken, Parameters(configuration));
        if (result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            // Perhaps the provider rotated its keys: read them again (once, briefly) and try with what it publishes now.
            _provider.RequestRefresh();
            var fresh = configuration;
            // The refresh is network I/O in the background: polled on the wall clock (briefly), not the injected one.
            for (var attempt = 0; attempt < KeyRefreshPolls && ReferenceEquals(fresh, configuration); attempt++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancellationToken);
                fresh = await _provider.GetConfigurationAsync(cancellationToken);
            }

            result = await _handler.ValidateTokenAsync(idToken, Parameters(fresh));
        }

        if (!result.IsValid)
        {
            return (null, Reason(result.Exception, _handler.ReadJsonWebToken(idToken)));
        }

        var token = (JsonWebToken)result.SecurityToken;
        var now = _timeProvider.GetUtcNow().UtcDateTime;
        if (token.ValidTo == DateTime.MinValue || token.ValidTo < now - s_clockSkew)
        {
            return (null, $"it expired at {token.ValidTo:yyyy-MM-dd HH:mm:ss} UTC");
        }

        if ((token.ValidFrom != DateTime.MinValue && token.ValidFrom > now + s_clockSkew) || (token.IssuedAt != DateTime.MinValue && token.IssuedAt > now + s_clockSkew))
        {
            return (null, $"it is not valid yet (issued for {(token.ValidFrom != DateTime.MinValue ? token.ValidFrom : token.IssuedAt):yyyy-MM-dd HH:mm:ss} UTC; is a clock wrong?)");
        }

        return (token, "");
    }

    private TokenValidationParameters Parameters(OpenIdConnectConfiguration configuration) => new()
    {
        ValidIssuers = [Authority, Authority + "/"],
        ValidAudiences = _options.Oidc.ValidAudiences,
        ValidAlgorithms = _options.Oidc.Algorithms,
        IssuerSigningKeys = configuration.SigningKeys,
        RequireSignedTokens = true,
        RequireExpirationTime = true,
        ValidateLifetime = false, // against this server's clock, below
        TryAllIssuerSigningKeys = false,
    };

    /// <summary>Why, in words; what the token claims is read from it unvalidated (the exceptions do not always carry it).</summary>
    private string Reason(Exception? e, JsonWebToken claimed) => e switch
    {
        SecurityTokenInvalidIssuerException => $"its issuer '{Truncate(claimed.Issuer)}' is not this site's provider ('{Authority}')",
        SecurityTokenInvalidAudienceException => $"its audience '{Truncate(string.Join(", ", claimed.Audiences))}' is not gpu-dev's ('{string.Join("', '", _options.Oidc.ValidAudiences)}')",
        SecurityTokenInvalidAlgorithmException bad => $"its algorithm '{Truncate(bad.InvalidAlgorithm)}' is not accepted (accepted: {string.Join(", ", _options.Oidc.Algorithms)})",
        SecurityTokenSignatureKeyNotFoundException => "it is signed with a key the provider does not publish",
        SecurityTokenInvalidSignatureException when e.Message.Contains("IDX10504", StringComparison.Ordinal) => "it is not signed",
        SecurityTokenInvalidSignatureException => "its signature does not verify",
        SecurityTokenMalformedException => "it is malformed",
        _ => $"it did not validate ({e?.GetType().Name ?? "unknown reason"})",
    };

    private async Task<(User? User, bool Created, string Refusal)> FindOrCreateUserAsync(JsonWebToken token, CancellationToken cancellationToken)
    {
        if (await _identity.FindUserByIdentityAsync(token.Issuer, token.Subject, cancellationToken) is { } known)
        {
            return (known, false, ""); // the allow-lists decide who may join, not who may come back (admins disable)
        }

        token.TryGetPayloadValue<string>("email", out var email);
        var verified = !token.TryGetPayloadValue<bool>("email_verified", out var flag) || flag;
        var groups = Groups(token);
        if (_options.AllowedDomains.Count > 0
            && (email is null || !verified || !_options.AllowedDomains.Contains(email[(email.LastIndexOf('@') + 1)..], StringComparer.OrdinalIgnoreCase)))
        {
            return (null, false, $"Signing in needs a verified email address at {string.Join(" or ", _options.AllowedDomains)}; this account has {(email is null ? "none" : verified ? email : email + " (not verified)")}.");
        }

        if (_options.AllowedGroups.Count > 0 && !groups.Intersect(_options.AllowedGroups, StringComparer.Ordinal).Any())
        {
            return (null, false, $"Signing in needs membership of one of the groups {string.Join(", ", _options.AllowedGroups)}; ask your identity admin.");
        }

        token.TryGetPayloadValue<string>(_options.Oidc.UserNameClaim, out var preferred);
        var admin = groups.Intersect(_options.AdminGroups, StringComparer.Ordinal).Any();
        return await _accounts.FindOrCreateAsync(token.Issuer, token.Subject, [preferred, email?[..email.IndexOf('@', StringComparison.Ordinal)]], admin, cancellationToken);
    }

    private IReadOnlyList<string> Groups(JsonWebToken token) =>
        token.TryGetPayloadValue<string[]>(_options.Oidc.GroupsClaim, out var many) ? many
        : token.TryGetPayloadValue<string>(_options.Oidc.GroupsClaim, out var one) ? [one]
        : [];

    private static string Truncate(string? value) => value is { Length: > 60 } ? value[..60] + "…" : value ?? "";

    [LoggerMessage(EventId = 1170, Level = LogLevel.Warning, Message = "Sign-in refused: {Why}")]
    private static partial void LogRefused(ILogger logger, string why);

    [LoggerMessage(EventId = 1171, Level = LogLevel.Information, Message = "{User} signed in (created: {Created})")]
    private static partial void LogSignedIn(ILogger logger, string user, bool created);
}

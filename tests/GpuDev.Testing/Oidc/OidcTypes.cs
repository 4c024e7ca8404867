namespace GpuDev.Testing.Oidc;

/// <summary>A user the test provider can log in; <see cref="Sub"/> is what its login form takes.</summary>
public sealed record OidcTestAccount(string Sub, string Email, string Name, string PreferredUsername, IReadOnlyList<string> Groups, bool EmailVerified = true);

/// <summary>The device authorization response (RFC 8628 §3.2), as the CLI gets it.</summary>
public sealed record DeviceAuthorization(string DeviceCode, string UserCode, Uri VerificationUri, Uri? VerificationUriComplete, TimeSpan ExpiresIn, TimeSpan Interval);

/// <summary>One token endpoint answer: the tokens, or the OAuth error code (<c>authorization_pending</c>,
/// <c>access_denied</c>, <c>invalid_grant</c>, <c>expired_token</c>...).</summary>
public sealed record TokenResponse(int StatusCode, string? IdToken, string? AccessToken, string? RefreshToken, string? Error, string? ErrorDescription);

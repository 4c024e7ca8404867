using System.Text.Json.Serialization;

namespace GpuDev.Cli.Login;

/// <summary>The few fields of an OpenID provider's discovery document (<c>/.well-known/openid-configuration</c>) the
/// device flow needs.</summary>
internal sealed record OidcDiscovery(
    string? Issuer,
    string? DeviceAuthorizationEndpoint,
    string? TokenEndpoint);

/// <summary>The device authorization response (RFC 8628 §3.2). <see cref="VerificationUrl"/> is the name some providers
/// (Google) use for <see cref="VerificationUri"/>.</summary>
internal sealed record DeviceAuthorizationResponse(
    string? DeviceCode,
    string? UserCode,
    string? VerificationUri,
    string? VerificationUriComplete,
    int? ExpiresIn,
    int? Interval)
{
    [JsonPropertyName("verification_url")]
    public string? VerificationUrl { get; init; }
}

/// <summary>A token endpoint answer: the tokens (RFC 6749 §5.1, with OpenID Connect's <c>id_token</c>) or an error
/// (§5.2; RFC 8628 §3.5 adds <c>authorization_pending</c>, <c>slow_down</c>, <c>access_denied</c>, <c>expired_token</c>).</summary>
internal sealed record OidcTokenResponse(
    string? IdToken,
    string? AccessToken,
    string? TokenType,
    string? Error,
    string? ErrorDescription);

/// <summary>Source-generated JSON for the provider's wire types (snake_case; numbers sent as strings are read too, as
/// some providers do).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(OidcDiscovery))]
[JsonSerializable(typeof(DeviceAuthorizationResponse))]
[JsonSerializable(typeof(OidcTokenResponse))]
internal sealed partial class OidcJsonContext : JsonSerializerContext;

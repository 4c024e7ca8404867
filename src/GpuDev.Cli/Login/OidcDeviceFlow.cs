using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace GpuDev.Cli.Login;

/// <summary>The provider's endpoints the device flow uses, from its discovery document.</summary>
internal sealed record OidcEndpoints(Uri Authority, Uri DeviceAuthorization, Uri Token);

/// <summary>A started device authorization, checked: what the user is shown and what the CLI polls with.</summary>
internal sealed record DeviceAuthorization(string DeviceCode, string UserCode, string VerificationUri, string? VerificationUriComplete,
    DateTimeOffset? ExpiresAt, TimeSpan Interval);

/// <summary>
/// The client side of OpenID Connect sign-in with the device authorization grant (RFC 8628): discovery, the device
/// authorization request, then token requests every <c>interval</c> until the user has signed in (or refused, or the code
/// expired). The CLI is a public client: no secret, only the client id the gpu-dev server names.
/// </summary>
internal sealed class OidcDeviceFlow(HttpClient http, TimeProvider time, Action<Uri> checkUrl, TextWriter? debug = null)
{
    public const string DeviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code";

    /// <summary>RFC 8628 §3.2: without an <c>interval</c> the client waits 5 seconds between polls.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);

    /// <summary>RFC 8628 §3.5: <c>slow_down</c> adds 5 seconds to the interval, for this and every later poll.</summary>
    public static readonly TimeSpan SlowDownStep = TimeSpan.FromSeconds(5);

    public const string DeniedMessage = "sign-in was denied";
    public const string ExpiredMessage = "the code expired; run gpu-dev login again";

    /// <summary>Reads <c>{authority}/.well-known/openid-configuration</c>; fails when it names no device authorization endpoint.</summary>
    public async Task<OidcEndpoints> DiscoverAsync(Uri authority, CancellationToken ct)
    {
        checkUrl(authority);
        var url = new Uri(authority.ToString().TrimEnd('/') + "/.well-known/openid-configuration");
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        var (status, reason, body) = await SendAsync(request, ct).ConfigureAwait(false);
        if (status != HttpStatusCode.OK)
        {
            throw new CliException(ExitCodes.Failure, $"the OpenID provider {Show(authority)} answered {(int)status} {reason} for its discovery document ({url})",
                "the gpu-dev server's OpenID settings may name the wrong authority; tell an admin");
        }

        var discovery = Parse(body, OidcJsonContext.Default.OidcDiscovery, url);
        var device = Endpoint(discovery?.DeviceAuthorizationEndpoint, authority, "device_authorization_endpoint",
            "it does not offer the device authorization grant (RFC 8628), which gpu-dev login needs");
        var token = Endpoint(discovery?.TokenEndpoint, authority, "token_endpoint", "it cannot issue tokens");
        return new OidcEndpoints(authority, device, token);
    }

    /// <summary>Asks for a device code and a user code (RFC 8628 §3.1).</summary>
    public async Task<DeviceAuthorization> StartAsync(OidcEndpoints endpoints, string clientId, string scopes, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoints.DeviceAuthorization)
        {
            Content = new FormUrlEncodedContent([new("client_id", clientId), new("scope", scopes)]),
        };
        var (status, reason, body) = await SendAsync(request, ct).ConfigureAwait(false);
        if (status != HttpStatusCode.OK)
        {
            var error = TryParse(body, OidcJsonContext.Default.OidcTokenResponse);
            throw new CliException(ExitCodes.Failure,
                $"the OpenID provider {Show(endpoints.Authority)} refused to start a sign-in for client '{clientId}': {ErrorText(error, status, reason)}",
                "the client may not be allowed the device authorization grant there; tell an admin");
        }

        var answer = Parse(body, OidcJsonContext.Default.DeviceAuthorizationResponse, endpoints.DeviceAuthorization);
        var verification = answer?.VerificationUri ?? answer?.VerificationUrl;
        if (string.IsNullOrEmpty(answer?.DeviceCode) || !IsShowableCode(answer.UserCode) || !IsShowableUrl(verification))
        {
            throw new CliException(ExitCodes.Failure,
                $"the OpenID provider {Show(endpoints.Authority)} answered the device authorization request without a usable device_code, user_code and verification_uri");
        }

        return new DeviceAuthorization(
            answer.DeviceCode,
            answer.UserCode!,
            verification!,
            IsShowableUrl(answer.VerificationUriComplete) ? answer.VerificationUriComplete : null,
            answer.ExpiresIn is > 0 and var seconds ? time.GetUtcNow().AddSeconds(seconds) : null,
            answer.Interval is > 0 and var interval ? TimeSpan.FromSeconds(interval) : DefaultInterval);
    }

    /// <summary>Polls the token endpoint every interval (RFC 8628 §3.4) until it answers with an ID token, and returns it.
    /// <paramref name="ct"/> (Ctrl+C) stops the wait.</summary>
    public async Task<string> WaitForIdTokenAsync(OidcEndpoints endpoints, string clientId, DeviceAuthorization device, CancellationToken ct)
    {
        var interval = device.Interval;
        while (true)
        {
            await Task.Delay(interval, time, ct).ConfigureAwait(false);
            if (device.ExpiresAt is { } expires && time.GetUtcNow() >= expires)
            {
                throw new CliException(ExitCodes.Failure, ExpiredMessage);
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, endpoints.Token)
            {
                Content = new FormUrlEncodedContent([new("grant_type", DeviceCodeGrant), new("device_code", device.DeviceCode), new("client_id", clientId)]),
            };
            var (status, reason, body) = await SendAsync(request, ct).ConfigureAwait(false);
            var answer = TryParse(body, OidcJsonContext.Default.OidcTokenResponse);
            if (status == HttpStatusCode.OK && answer?.Error is null)
            {
                return answer?.IdToken is { Length: > 0 } idToken
                    ? idToken
                    : throw new CliException(ExitCodes.Failure,
                        $"the OpenID provider {Show(endpoints.Authority)} issued tokens without an ID token (is 'openid' among the scopes the gpu-dev server names?)");
            }

            switch (answer?.Error)
            {
                case "authorization_pending":
                    continue;
                case "slow_down":
                    interval += SlowDownStep;
                    continue;
                case "access_denied":
                    throw new CliException(ExitCodes.AuthRequired, DeniedMessage);
                case "expired_token":
                    throw new CliException(ExitCodes.Failure, ExpiredMessage);
                default:
                    throw new CliException(ExitCodes.Failure, $"the OpenID provider {Show(endpoints.Authority)} refused the sign-in: {ErrorText(answer, status, reason)}");
            }
        }
    }

    private async Task<(HttpStatusCode Status, string? Reason, string Body)> SendAsync(HttpRequestMessage request, CancellationToken ct)
    {
        debug?.WriteLine($"> {request.Method} {request.RequestUri}");
        try
        {
            using var response = await http.SendAsync(request, ct).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            debug?.WriteLine($"< {(int)response.StatusCode} {response.ReasonPhrase}");
            return (response.StatusCode, response.ReasonPhrase, body);
        }
        catch (HttpRequestException ex)
        {
            throw Unreachable(request.RequestUri!, ex.InnerException is SocketException se ? se.Message : ex.Message, ex);
        }
        catch (TaskCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw Unreachable(request.RequestUri!, "the request timed out", ex);
        }
    }

    private static CliException Unreachable(Uri url, string reason, Exception inner) =>
        new(ExitCodes.Failure, $"cannot reach the OpenID provider at {url.GetLeftPart(UriPartial.Authority)}: {reason}", null, inner);

    private Uri Endpoint(string? value, Uri authority, string field, string consequence)
    {
        if (value is null || !Uri.TryCreate(value, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw new CliException(ExitCodes.Failure, $"the OpenID provider {Show(authority)} has no usable {field} in its discovery document: {consequence}");
        }

        checkUrl(url);
        return url;
    }

    private static T Parse<T>(string body, JsonTypeInfo<T> typeInfo, Uri from) =>
        TryParse(body, typeInfo) ?? throw new CliException(ExitCodes.Failure, $"the OpenID provider's answer from {from} is not the JSON object the protocol defines");

    private static T? TryParse<T>(string body, JsonTypeInfo<T> typeInfo)
    {
        try
        {
            return string.IsNullOrWhiteSpace(body) ? default : JsonSerializer.Deserialize(body, typeInfo);
        }
        catch (JsonException)
        {
            return default;
        }
    }

    /// <summary>"invalid_client: client not found" (the provider's own words), or the HTTP status without them.</summary>
    private static string ErrorText(OidcTokenResponse? error, HttpStatusCode status, string? reason) =>
        error?.Error is { Length: > 0 } code
            ? Clean(error.ErrorDescription is { Length: > 0 } description ? $"{code}: {description}" : code)
            : $"it answered {(int)status} {reason}".TrimEnd();

    /// <summary>The provider's text is shown on one line and without control characters (no terminal escapes from afar).</summary>
    private static string Clean(string text)
    {
        var chars = text.Select(c => char.IsControl(c) ? ' ' : c).ToArray();
        var clean = new string(chars);
        return clean.Length > 300 ? clean[..300] + "…" : clean;
    }

    private static string Show(Uri authority) => authority.ToString().TrimEnd('/');

    /// <summary>What is printed for the user to open: an absolute http(s) URL without control characters.</summary>
    private static bool IsShowableUrl(string? url) =>
        url is { Length: > 0 and <= 2000 } && !url.Any(char.IsControl)
        && Uri.TryCreate(url, UriKind.Absolute, out var parsed) && (parsed.Scheme == Uri.UriSchemeHttps || parsed.Scheme == Uri.UriSchemeHttp);

    private static bool IsShowableCode(string? code) => code is { Length: > 0 and <= 64 } && !code.Any(c => char.IsControl(c) || char.IsWhiteSpace(c));
}

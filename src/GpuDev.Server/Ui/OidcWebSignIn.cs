using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using GpuDev.Server.Identity;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace GpuDev.Server.Ui;

/// <summary>The dashboard's sign-in with the site's OpenID provider: the authorization code flow with PKCE (RFC 7636),
/// as a browser-based app should (RFC 9700). <c>GET /ui/signin/oidc</c> sends the browser to the provider with a fresh
/// state, nonce and code challenge, kept meanwhile in a short-lived HttpOnly cookie scoped to the flow's path;
/// <c>GET /ui/signin/oidc/callback</c> checks the state, redeems the code (with the verifier) at the token endpoint, and
/// signs the ID token in exactly as <c>gpu-dev login</c>'s is (<see cref="OidcSignIn"/>: keys, issuer, audience, times,
/// one use; plus the nonce), so the same provider account is the same gpu-dev user in the CLI and the browser.</summary>
internal sealed partial class OidcWebSignIn(HttpClient http, OidcSignIn signIn, IOptions<AuthOptions> options, ILogger<OidcWebSignIn> logger)
{
    public const string StartPath = UiApi.SignInPath + "/oidc";
    public const string CallbackPath = StartPath + "/callback";
    public const string FlowCookie = "gpu-dev-oidc";
    /// <summary>The name of the session tokens it issues: signing out of the dashboard revokes those (and only those).</summary>
    public const string TokenName = "web sign-in";

    /// <summary>How long a started sign-in may take at the provider.</summary>
    public static readonly TimeSpan FlowLifetime = TimeSpan.FromMinutes(10);

    public bool Enabled => signIn.Enabled;

    /// <summary>Where the provider sends the browser back to: this server as the browser reached it.</summary>
    public static string RedirectUri(HttpRequest request) => $"{request.Scheme}://{request.Host}{request.PathBase}{CallbackPath}";

    /// <summary>The provider's authorization URL for a new sign-in, with the flow's cookie set; or why it cannot start.</summary>
    public async Task<(string? Url, string Refusal)> StartAsync(HttpContext context, CancellationToken cancellationToken)
    {
        string endpoint;
        try
        {
            endpoint = (await signIn.GetConfigurationAsync(cancellationToken)).AuthorizationEndpoint;
        }
        catch (InvalidOperationException e)
        {
            LogProviderUnreachable(logger, e.Message);
            return (null, $"The OpenID provider could not be reached ({e.Message}); try again, or paste a token below.");
        }

        var flow = new Flow(Random(), Random(), Random());
        context.Response.Cookies.Append(FlowCookie, flow.ToString(), new CookieOptions
        {
            HttpOnly = true,
            // Lax, not Strict: the provider's redirect back is a cross-site navigation, which must carry it.
            SameSite = SameSiteMode.Lax,
            Secure = context.Request.IsHttps,
            Path = StartPath,
            MaxAge = FlowLifetime,
            IsEssential = true,
        });
        var oidc = options.Value.Oidc;
        var query = new Dictionary<string, string?>
        {
            ["response_type"] = "code",
            ["client_id"] = oidc.WebClient,
            ["redirect_uri"] = RedirectUri(context.Request),
            ["scope"] = oidc.Scopes,
            ["state"] = flow.State,
            ["nonce"] = flow.Nonce,
            ["code_challenge"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(flow.Verifier))),
            ["code_challenge_method"] = "S256",
        };
        return (Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(endpoint, query), "");
    }

    /// <summary>Where to send the browser to end its session at the provider after a sign-out of a session this sign-in
    /// made (RP-Initiated Logout 1.0, identified by the client), back to the sign-in page; null where
    /// <see cref="OidcOptions.SignOutAtProvider"/> is off, the provider has no <c>end_session_endpoint</c>, or cannot be
    /// reached (the dashboard's own session has ended either way).</summary>
    public async Task<string?> SignOutUrlAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var oidc = options.Value.Oidc;
        if (!Enabled || !oidc.SignOutAtProvider)
        {
            return null;
        }

        string? endpoint;
        try
        {
            endpoint = (await signIn.GetConfigurationAsync(cancellationToken)).EndSessionEndpoint;
        }
        catch (InvalidOperationException e)
        {
            LogProviderUnreachable(logger, e.Message);
            return null;
        }

        return string.IsNullOrEmpty(endpoint)
            ? null
            : Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString(endpoint, new Dictionary<string, string?>
            {
                ["client_id"] = oidc.WebClient,
                ["post_logout_redirect_uri"] = $"{request.Scheme}://{request.Host}{request.PathBase}{UiApi.SignInPath}",
            });
    }

    /// <summary>The provider's answer: signed in (the session token), or the status and reason to show.</summary>
    public async Task<(SignedIn? SignedIn, int Status, string Refusal)> FinishAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var request = context.Request;
        var flow = Flow.Parse(request.Cookies[FlowCookie]);
        context.Response.Cookies.Delete(FlowCookie, new CookieOptions { Path = StartPath, HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = request.IsHttps });
        if (request.Query["error"].ToString() is { Length: > 0 } error)
        {
            var description = request.Query["error_description"].ToString();
            return (null, error == "access_denied" ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized,
                $"The OpenID provider did not sign you in: {Clip(description.Length > 0 ? description : error)}.");
        }

        var state = request.Query["state"].ToString();
        if (flow is null || state.Length == 0 || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(state), Encoding.ASCII.GetBytes(flow.State)))
        {
            return (null, StatusCodes.Status400BadRequest,
                $"This sign-in did not start in this browser, or took longer than {FlowLifetime.TotalMinutes:0} minutes; sign in again.");
        }

        var code = request.Query["code"].ToString();
        if (code.Length is 0 or > 4096)
        {
            return (null, StatusCodes.Status400BadRequest, "The OpenID provider sent no authorization code; sign in again.");
        }

        var (idToken, status, refusal) = await RedeemAsync(code, flow.Verifier, RedirectUri(request), cancellationToken);
        return idToken is null ? (null, status, refusal) : await signIn.SignInAsync(idToken, TokenName, flow.Nonce, cancellationToken);
    }

    /// <summary>The token endpoint's ID token for the code, or why not (401: refused; 502: the provider failed).</summary>
    private async Task<(string? IdToken, int Status, string Refusal)> RedeemAsync(string code, string verifier, string redirectUri, CancellationToken cancellationToken)
    {
        var oidc = options.Value.Oidc;
        try
        {
            var endpoint = (await signIn.GetConfigurationAsync(cancellationToken)).TokenEndpoint;
            using var message = new HttpRequestMessage(HttpMethod.Post, endpoint);
            var form = new Dictionary<string, string>
            {
                ["grant_type"] = "authorization_code",
                ["code"] = code,
                ["redirect_uri"] = redirectUri,
                ["code_verifier"] = verifier,
            };
            if (string.IsNullOrEmpty(oidc.WebClientSecret))
            {
                form["client_id"] = oidc.WebClient;
            }
            else
            {
                // client_secret_basic (RFC 6749 §2.3.1): both parts form-encoded first.
                var pair = Uri.EscapeDataString(oidc.WebClient) + ":" + Uri.EscapeDataString(oidc.WebClientSecret);
                message.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(pair)));
            }

            message.Content = new FormUrlEncodedContent(form);
            using var response = await http.SendAsync(message, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            using var json = JsonDocument.Parse(body.Length > 0 ? body : "{}");
            string? Text(string name) => json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            if (!response.IsSuccessStatusCode)
            {
                var why = Text("error_description") ?? Text("error") ?? $"HTTP {(int)response.StatusCode}";
                LogRedeemRefused(logger, why);
                return (null, (int)response.StatusCode >= 500 ? StatusCodes.Status502BadGateway : StatusCodes.Status401Unauthorized,
                    $"The OpenID provider did not accept the sign-in ({Clip(why)}); sign in again.");
            }

            return Text("id_token") is { } idToken
                ? (idToken, StatusCodes.Status200OK, "")
                : (null, StatusCodes.Status502BadGateway, "The OpenID provider answered without an ID token (is the 'openid' scope in Auth:Oidc:Scopes?).");
        }
        catch (Exception e) when (e is HttpRequestException or InvalidOperationException or JsonException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogProviderUnreachable(logger, e.Message);
            return (null, StatusCodes.Status502BadGateway, $"The OpenID provider could not be reached ({Clip(e.Message)}); try again.");
        }
    }

    private static string Random() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    private static string Clip(string text) => text.Length > 200 ? text[..200] + "…" : text;

    /// <summary>One sign-in in flight: what the callback must see again (state, nonce) and prove (the PKCE verifier).</summary>
    private sealed record Flow(string State, string Nonce, string Verifier)
    {
        public override string ToString() => $"{State}.{Nonce}.{Verifier}";

        public static Flow? Parse(string? cookie) => cookie?.Split('.') is [{ Length: > 0 } state, { Length: > 0 } nonce, { Length: > 0 } verifier]
            ? new Flow(state, nonce, verifier)
            : null;
    }

    [LoggerMessage(EventId = 1175, Level = LogLevel.Warning, Message = "Dashboard sign-in: the OpenID provider could not be reached: {Why}")]
    private static partial void LogProviderUnreachable(ILogger logger, string why);

    [LoggerMessage(EventId = 1176, Level = LogLevel.Warning, Message = "Dashboard sign-in: the token endpoint refused the code: {Why}")]
    private static partial void LogRedeemRefused(ILogger logger, string why);
}

using GpuDev.Core.Identity;
using GpuDev.Server.Audit;
using GpuDev.Server.Identity;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Ui;

/// <summary>The web dashboard (issue 18) at <c>/ui</c>, on the API's port: <c>GET /ui</c> is the page (signed in, else a
/// redirect to <c>/ui/signin</c>), the sign-in form takes a token and keeps it in an HttpOnly, SameSite=Strict cookie that
/// <see cref="BearerAuthMiddleware"/> accepts like a bearer token; the page's script reads and acts through <c>/api/v1</c>
/// with that cookie, so what a user sees and may do is exactly what the API allows them. Assets (the page's script and
/// style, and the vendored vis-timeline) are embedded in the server binary.</summary>
public static class UiApi
{
    public const string PagePath = "/ui";
    public const string SignInPath = "/ui/signin";
    public const string SignOutPath = "/ui/signout";
    public const string AssetsPath = "/ui/assets";

    private const string AssetPrefix = "GpuDev.Server.Ui.Assets/";

    private static readonly Dictionary<string, string> s_contentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".txt"] = "text/plain; charset=utf-8",
        [".md"] = "text/plain; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    /// <summary>Whether the path is the dashboard's (where a missing session redirects to the sign-in form).</summary>
    public static bool IsPage(PathString path) => path.StartsWithSegments(PagePath, StringComparison.Ordinal);

    /// <summary>Dashboard paths that need no session: the sign-in form, signing out, and the assets.</summary>
    public static bool IsAnonymous(PathString path) =>
        path.StartsWithSegments(SignInPath, StringComparison.Ordinal)
        || path.StartsWithSegments(SignOutPath, StringComparison.Ordinal)
        || path.StartsWithSegments(AssetsPath, StringComparison.Ordinal);

    public static IEndpointRouteBuilder MapUi(this IEndpointRouteBuilder app)
    {
        // Routing takes /ui/ for /ui; the page's relative links want the one address.
        app.MapGet(PagePath, (CurrentUser caller, HttpContext http) => http.Request.Path.Value!.EndsWith('/')
                ? Results.Redirect(PagePath)
                : Html(http, StatusCodes.Status200OK, UiPages.Dashboard(caller.User.Name, caller.IsAdmin)))
            .ExcludeFromDescription();
        app.MapGet(SignInPath, (HttpContext http, IOptions<AuthOptions> auth) => Html(http, StatusCodes.Status200OK, UiPages.SignIn(null, auth.Value.Oidc.Enabled)))
            .ExcludeFromDescription();
        app.MapPost(SignInPath, SignInAsync).ExcludeFromDescription().DisableAntiforgery();
        app.MapGet(OidcWebSignIn.StartPath, StartOidcAsync).ExcludeFromDescription();
        app.MapGet(OidcWebSignIn.CallbackPath, FinishOidcAsync).ExcludeFromDescription();
        app.MapPost(SignOutPath, SignOutAsync).ExcludeFromDescription().DisableAntiforgery();
        app.MapGet(AssetsPath + "/{*file}", Asset).ExcludeFromDescription();
        return app;
    }

    /// <summary>The sign-in form's post: the token is checked as every API request's is; a good one is kept in the
    /// session cookie for as long as the token lasts, a bad one gets the form again with the reason (and counts as a
    /// failed attempt from the address, as with a bad bearer token; over the limit, 429).</summary>
    internal static async Task<IResult> SignInAsync(
        HttpContext http, TokenCache tokens, AuthFailureLimiter limiter, TimeProvider timeProvider, IOptions<AuthOptions> auth, CancellationToken cancellationToken)
    {
        var oidc = auth.Value.Oidc.Enabled;
        if (!SameOrigin(http))
        {
            return Html(http, StatusCodes.Status403Forbidden, UiPages.SignIn("The form was posted from another site.", oidc));
        }

        var token = http.Request.HasFormContentType ? (await http.Request.ReadFormAsync(cancellationToken))["token"].ToString() : null;
        var match = await BearerAuthMiddleware.FindAsync(tokens, token, cancellationToken);
        var now = timeProvider.GetUtcNow();
        if (match is null || !TokenCache.Authenticates(match, now))
        {
            // As for a bearer token: only guesses count and are throttled; a good token is never refused, and a real one
            // that no longer signs in is told why.
            if (match is null && Throttled(http, limiter) is { } throttled)
            {
                return Html(http, StatusCodes.Status429TooManyRequests, UiPages.SignIn(throttled, oidc));
            }

            if (match is null)
            {
                limiter.RecordFailure(AuthFailureLimiter.Address(http));
            }

            return Refused(http, StatusCodes.Status401Unauthorized,
                match is null ? "That token is not valid; copy it again (from ~/.config/gpu-dev/config.json) or ask an admin for one."
                    : "That token no longer signs in (expired or revoked, or the account is disabled); log in again with 'gpu-dev login'.", oidc);
        }

        return SignedIn(http, match.User, match.Token, token!.Trim());
    }

    /// <summary>Sends the browser to the site's OpenID provider (see <see cref="OidcWebSignIn"/>).</summary>
    internal static async Task<IResult> StartOidcAsync(HttpContext http, OidcWebSignIn oidc, CancellationToken cancellationToken)
    {
        if (!oidc.Enabled)
        {
            return Html(http, StatusCodes.Status404NotFound, UiPages.SignIn("This server has no OpenID sign-in configured (Auth:Oidc:Authority); paste a token.", oidc: false));
        }

        var (url, refusal) = await oidc.StartAsync(http, cancellationToken);
        return url is null ? Html(http, StatusCodes.Status502BadGateway, UiPages.SignIn(refusal, oidc: true)) : Results.Redirect(url);
    }

    /// <summary>Where the provider sends the browser back: signed in to <c>/ui</c>, or the sign-in page with the reason
    /// (a refusal counts as a failed attempt from the address, as a bad token does).</summary>
    internal static async Task<IResult> FinishOidcAsync(HttpContext http, OidcWebSignIn oidc, AuthFailureLimiter limiter, CancellationToken cancellationToken)
    {
        http.Items[AuditMiddleware.RecordItem] = true; // a GET, but a sign-in: recorded whatever its outcome
        if (!oidc.Enabled)
        {
            return Refused(http, StatusCodes.Status404NotFound, "This server has no OpenID sign-in configured (Auth:Oidc:Authority); paste a token.", oidc: false);
        }

        if (Throttled(http, limiter) is { } throttled)
        {
            return Html(http, StatusCodes.Status429TooManyRequests, UiPages.SignIn(throttled, oidc: true));
        }

        var (signedIn, status, refusal) = await oidc.FinishAsync(http, cancellationToken);
        if (signedIn is null)
        {
            if (status is StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden)
            {
                limiter.RecordFailure(AuthFailureLimiter.Address(http));
            }

            return Refused(http, status, refusal, oidc: true);
        }

        return SignedIn(http, signedIn.User, signedIn.Token, signedIn.Secret);
    }

    /// <summary>Drops the session cookie. A session the dashboard's OpenID sign-in issued is revoked too (and, where
    /// configured, ended at the provider); a pasted token stays valid (it may be the CLI's).</summary>
    internal static async Task<IResult> SignOutAsync(HttpContext http, TokenCache tokens, IIdentityStore identity, OidcWebSignIn oidc, TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        if (!SameOrigin(http))
        {
            return Results.StatusCode(StatusCodes.Status403Forbidden);
        }

        var match = await BearerAuthMiddleware.FindAsync(tokens, http.Request.Cookies[BearerAuthMiddleware.SessionCookie], cancellationToken);
        string? atProvider = null;
        if (match is { Token: { Kind: TokenKind.Session, Name: OidcWebSignIn.TokenName, RevokedAt: null } web })
        {
            await identity.RevokeTokenAsync(match.User.Id, web.Id, timeProvider.GetUtcNow(), cancellationToken);
            tokens.ForgetToken(web.Id);
            atProvider = await oidc.SignOutUrlAsync(http.Request, cancellationToken);
        }

        if (match is not null)
        {
            http.Items[CurrentUser.ItemKey] = new CurrentUser(match.User) { Token = match.Token };
        }

        http.Response.Cookies.Delete(BearerAuthMiddleware.SessionCookie, new CookieOptions { Path = "/", HttpOnly = true, SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps });
        return atProvider is null ? Results.Redirect(SignInPath) : Html(http, StatusCodes.Status200OK, UiPages.SignedOut(atProvider));
    }

    /// <summary>Keeps <paramref name="secret"/> in the session cookie for as long as the token lasts, and records the
    /// sign-in as the user's.</summary>
    private static IResult SignedIn(HttpContext http, User user, ApiToken token, string secret)
    {
        http.Items[CurrentUser.ItemKey] = new CurrentUser(user) { Token = token };
        http.Items[AuditMiddleware.TargetItem] = user.Name;
        http.Response.Cookies.Append(BearerAuthMiddleware.SessionCookie, secret, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = http.Request.IsHttps,
            Path = "/",
            Expires = token.ExpiresAt,
            IsEssential = true,
        });
        return Results.Redirect(PagePath);
    }

    /// <summary>The sign-in page again with why (recorded with the audit entry).</summary>
    private static IResult Refused(HttpContext http, int status, string why, bool oidc)
    {
        http.Items[AuditMiddleware.DetailItem] = why;
        return Html(http, status, UiPages.SignIn(why, oidc));
    }

    /// <summary>Why the address may not try now (too many failed sign-ins; see <see cref="AuthFailureLimiter.Throttle"/>),
    /// or null.</summary>
    private static string? Throttled(HttpContext http, AuthFailureLimiter limiter)
    {
        if (limiter.Throttle(http) is not { } throttled)
        {
            return null;
        }

        http.Items[AuditMiddleware.DetailItem] = "throttled: too many failed sign-ins";
        return $"Too many failed sign-ins from {throttled.Address}; try again in {throttled.Seconds} s.";
    }

    internal static IResult Asset(string file, HttpContext http)
    {
        var stream = file.Contains("..", StringComparison.Ordinal) ? null : typeof(UiApi).Assembly.GetManifestResourceStream(AssetPrefix + file);
        if (stream is null || !s_contentTypes.TryGetValue(Path.GetExtension(file), out var contentType))
        {
            stream?.Dispose();
            return Results.NotFound();
        }

        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers.XContentTypeOptions = "nosniff";
        return Results.Stream(stream, contentType);
    }

    /// <summary>A form post that says where it came from (browsers send <c>Origin</c> with every POST, and
    /// <c>Sec-Fetch-Site</c>) came from here; one that does not say (curl, old browsers) is let through.</summary>
    private static bool SameOrigin(HttpContext http)
    {
        var origin = http.Request.Headers.Origin.ToString();
        var site = http.Request.Headers["Sec-Fetch-Site"].ToString();
        return site == "same-origin"
            || (site.Length == 0 && origin.Length == 0)
            || Uri.TryCreate(origin, UriKind.Absolute, out var uri) && string.Equals(uri.Authority, http.Request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }

    private static IResult Html(HttpContext http, int status, string html)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "same-origin"; // not no-referrer: that makes browsers send "Origin: null" with the form posts
        headers.CacheControl = "no-store";
        return Results.Content(html, "text/html; charset=utf-8", statusCode: status);
    }
}

using GpuDev.Contracts;
using GpuDev.Server.Audit;
using GpuDev.Server.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Api;

/// <summary>Sign-in, before there is a token: <c>GET /api/v1/auth</c> says how (the CLI discovers the provider from the
/// server URL alone); <c>POST /api/v1/auth/oidc</c> exchanges the provider's ID token for a session token. Both are
/// outside <see cref="BearerAuthMiddleware"/>; refusals are audited (as anonymous), a login as the user it signed in.</summary>
public static class AuthApi
{
    /// <summary>Paths under <c>/api/v1</c> that need no token.</summary>
    public static bool IsAnonymous(PathString path) =>
        path.StartsWithSegments(Routes.Auth, StringComparison.Ordinal);

    public static RouteGroupBuilder MapAuthApi(this RouteGroupBuilder api)
    {
        api.MapGet("/auth", (IOptions<AuthOptions> options) =>
        {
            var (oidc, aws) = (options.Value.Oidc, options.Value.Aws);
            return TypedResults.Ok(new AuthInfoDto(oidc.Enabled ? new OidcInfoDto(oidc.Authority!.TrimEnd('/'), oidc.ClientId, oidc.Scopes) : null, aws.Enabled)
            {
                AwsSigning = aws.Enabled ? new AwsSigningDto(aws.StsEndpoint, aws.Region, aws.ServerId) : null,
            });
        }).WithName("AuthInfo").WithTags("Account");
        api.MapPost("/auth/oidc", SignInAsync).WithName("SignInOidc").WithTags("Account");
        api.MapPost("/auth/aws", SignInAwsAsync).WithName("SignInAws").WithTags("Account");
        return api;
    }

    internal static async Task<Results<Ok<LoginResultDto>, ProblemHttpResult>> SignInAsync(
        OidcLoginRequest body, OidcSignIn signIn, AuthFailureLimiter limiter, HttpContext http, CancellationToken cancellationToken)
    {
        if (!signIn.Enabled)
        {
            return Problems.NotSupported("This server has no OpenID sign-in configured (Auth:Oidc:Authority); an admin creates tokens with 'gpu-dev admin user add'.");
        }

        if (string.IsNullOrWhiteSpace(body.IdToken) || body.IdToken.Length > 16 * 1024)
        {
            return Problems.BadRequest("idToken must be the ID token (a JWT, at most 16 KiB) the OpenID provider issued.", "idToken");
        }

        return await AnswerAsync(http, limiter, () => signIn.SignInAsync(body.IdToken, body.TokenName, nonce: null, cancellationToken));
    }

    internal static async Task<Results<Ok<LoginResultDto>, ProblemHttpResult>> SignInAwsAsync(
        AwsLoginRequest body, AwsSignIn signIn, IOptions<AuthOptions> options, AuthFailureLimiter limiter, HttpContext http, CancellationToken cancellationToken)
    {
        if (!options.Value.Aws.Enabled)
        {
            return Problems.NotSupported("This server does not sign in with AWS credentials (Auth:Aws:Enabled); use 'gpu-dev login' or ask an admin for a token.");
        }

        if (body.Url is not { Length: > 0 and <= 2048 } || body.Body is not { Length: <= 1024 } || body.Headers is not { Count: > 0 and <= 32 }
            || body.Headers.Any(h => h.Key.Length > 128 || h.Value is not { Length: <= 8192 }))
        {
            return Problems.BadRequest("The body must hold the signed request: url (at most 2 KiB), body (at most 1 KiB) and 1-32 headers.", "headers");
        }

        return await AnswerAsync(http, limiter, () => signIn.SignInAsync(body, cancellationToken));
    }

    /// <summary>A sign-in's answer: throttled after too many failures from the address, refused with the reason (and
    /// counted), or the session token, audited as the user it signed in. Unlike a bearer token (a lookup), a throttled
    /// address is refused before its credentials are checked: checking an AWS identity costs a call to STS.</summary>
    private static async Task<Results<Ok<LoginResultDto>, ProblemHttpResult>> AnswerAsync(
        HttpContext http, AuthFailureLimiter limiter, Func<Task<(SignedIn? SignedIn, int Status, string Refusal)>> signIn)
    {
        if (limiter.Throttle(http) is { } throttled)
        {
            return Problems.TooManyRequests($"Too many failed sign-ins from {throttled.Address}; try again in {throttled.Seconds} s.");
        }

        var (signedIn, status, refusal) = await signIn();
        if (signedIn is null)
        {
            limiter.RecordFailure(AuthFailureLimiter.Address(http));
            return status == StatusCodes.Status403Forbidden ? Problems.Forbidden(refusal) : Problems.Unauthorized(refusal);
        }

        http.Items[CurrentUser.ItemKey] = new CurrentUser(signedIn.User) { Token = signedIn.Token };
        http.Items[AuditMiddleware.TargetItem] = signedIn.User.Name;
        return TypedResults.Ok(new LoginResultDto(signedIn.Secret, signedIn.User.Name, signedIn.User.IsAdmin, signedIn.Token.ExpiresAt, signedIn.Created));
    }
}

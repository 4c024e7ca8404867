using System.Net.Http.Headers;
using System.Text;
using GpuDev.Compute.Kubernetes;
using GpuDev.Contracts;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;
using GpuDev.Server.Identity;

namespace GpuDev.Server.Api;

/// <summary>The token service of a registry that trusts gpu-dev (<c>Kubernetes:BuildRegistryAuth=token</c>), speaking the
/// Docker registry token protocol: <c>GET /registry/token?service=…&amp;scope=…</c> with Basic credentials (docker,
/// podman, Kaniko) and <c>POST</c> with <c>grant_type=password</c> (containerd, the kubelet's pulls). Only a build's
/// credentials are accepted, only while its reservation is preparing or active, and the token grants what
/// <see cref="BuildRegistryTokens.Grant"/> allows. Failed attempts count against the address like bad API tokens.
/// Errors are the token protocol's OAuth-style body (<c>error</c>, <c>error_description</c>) that registry clients print,
/// not ProblemDetails: these routes are the registry's, outside the gpu-dev API.</summary>
public static class RegistryTokenApi
{
    public static IEndpointRouteBuilder MapRegistryTokenApi(this IEndpointRouteBuilder app)
    {
        app.MapGet(Routes.RegistryToken, GetAsync).WithTags("Registry").ExcludeFromDescription();
        app.MapPost(Routes.RegistryToken, PostAsync).WithTags("Registry").ExcludeFromDescription().DisableAntiforgery();
        app.MapGet(Routes.RegistryCertificate, (BuildRegistryTokens tokens) => Results.Text(tokens.CertificatePem, "application/x-pem-file"))
            .WithTags("Registry").ExcludeFromDescription();
        return app;
    }

    private static Task<IResult> GetAsync(HttpContext http, BuildRegistryTokens tokens, IReservationStore store, AuthFailureLimiter limiter, CancellationToken cancellationToken)
    {
        var (user, password) = Basic(http.Request.Headers.Authorization.ToString());
        return IssueAsync(http, user, password, http.Request.Query["service"].ToString(), [.. http.Request.Query["scope"].Select(s => s ?? "")],
            tokens, store, limiter, cancellationToken);
    }

    private static async Task<IResult> PostAsync(HttpContext http, BuildRegistryTokens tokens, IReservationStore store, AuthFailureLimiter limiter, CancellationToken cancellationToken)
    {
        if (!http.Request.HasFormContentType)
        {
            return Error(StatusCodes.Status400BadRequest, "invalid_request", "a form (application/x-www-form-urlencoded) with grant_type=password is expected");
        }

        var form = await http.Request.ReadFormAsync(cancellationToken);
        if (form["grant_type"] != "password")
        {
            return Error(StatusCodes.Status400BadRequest, "unsupported_grant_type", "only grant_type=password is supported (a build's username and password)");
        }

        var scopes = form["scope"].SelectMany(s => (s ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToArray();
        return await IssueAsync(http, form["username"], form["password"], form["service"].ToString(), scopes, tokens, store, limiter, cancellationToken);
    }

    private static async Task<IResult> IssueAsync(HttpContext http, string? user, string? password, string service, string[] scopes,
        BuildRegistryTokens tokens, IReservationStore store, AuthFailureLimiter limiter, CancellationToken cancellationToken)
    {
        if (limiter.Throttle(http) is not null)
        {
            return Error(StatusCodes.Status429TooManyRequests, "too_many_requests", "too many failed attempts from this address");
        }

        if (service.Length > 0 && service != tokens.Service)
        {
            return Error(StatusCodes.Status400BadRequest, "invalid_request", $"this token service issues tokens for service '{tokens.Service}', not '{service}'");
        }

        var id = tokens.ReservationOf(user, password);
        var reservation = id is null ? null : await store.GetReservationAsync(id, cancellationToken);
        if (reservation is not { Status: ReservationStatus.Preparing or ReservationStatus.Active })
        {
            limiter.RecordFailure(AuthFailureLimiter.Address(http));
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"gpu-dev build registry\"";
            return Error(StatusCodes.Status401Unauthorized, "invalid_grant",
                "the credentials are not those of a build whose reservation is preparing or active");
        }

        return Results.Text(tokens.TokenResponse(reservation.Id, scopes), "application/json");
    }

    private static (string? User, string? Password) Basic(string header)
    {
        if (!AuthenticationHeaderValue.TryParse(header, out var value) || !"Basic".Equals(value.Scheme, StringComparison.OrdinalIgnoreCase) || value.Parameter is null)
        {
            return (null, null);
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(value.Parameter));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? (null, null) : (text[..colon], text[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return (null, null);
        }
    }

    /// <summary>The OAuth-style error body registry clients print.</summary>
    private static IResult Error(int status, string error, string description) =>
        Results.Text(new System.Text.Json.Nodes.JsonObject { ["error"] = error, ["error_description"] = description }.ToJsonString(), "application/json", statusCode: status);
}

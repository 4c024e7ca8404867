using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using GpuDev.Contracts;
using GpuDev.Core.Identity;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Identity;

/// <summary>Signs in whoever AWS says signed a <c>sts:GetCallerIdentity</c> request (Vault's AWS auth technique). The
/// request must be exactly that call, to the configured STS endpoint, fresh (its X-Amz-Date within
/// <see cref="MaxSkew"/> of this server's clock), with <c>X-GpuDev-Server-Id</c> among its signed headers; it is good for
/// one sign-in. The server sends it to STS and takes the caller's ARN from the answer; STS alone checks the signature.</summary>
internal sealed partial class AwsSignIn(HttpClient http, IOptions<AuthOptions> options, SignInAccounts accounts, IIdentityStore identity, TimeProvider timeProvider, ILogger<AwsSignIn> logger)
{
    public const string ServerIdHeader = "X-GpuDev-Server-Id";
    public const string Body = "Action=GetCallerIdentity&Version=2011-06-15";
    public static readonly TimeSpan MaxSkew = TimeSpan.FromMinutes(15);

    private AwsOptions Aws => options.Value.Aws;

    public async Task<(SignedIn? SignedIn, int Status, string Refusal)> SignInAsync(AwsLoginRequest request, CancellationToken cancellationToken)
    {
        if (Check(request) is { } bad)
        {
            LogRefused(logger, bad);
            return (null, StatusCodes.Status401Unauthorized, $"The signed request was refused: {bad}. Sign in again with 'gpu-dev login --aws'.");
        }

        var signature = Header(request, "Authorization")![(Header(request, "Authorization")!.LastIndexOf("Signature=", StringComparison.Ordinal) + 10)..];
        var now = timeProvider.GetUtcNow();
        if (!await identity.UseIdTokenAsync(Tokens.Hash("aws:" + signature), now + MaxSkew, now, cancellationToken))
        {
            return (null, StatusCodes.Status401Unauthorized, "The signed request was refused: it was used before (each is good for one sign-in). Sign in again with 'gpu-dev login --aws'.");
        }

        var (arn, account, why) = await CallStsAsync(request, cancellationToken);
        if (arn is null)
        {
            LogRefused(logger, why);
            return (null, StatusCodes.Status401Unauthorized, $"AWS did not accept the signed request: {why}. Check your AWS credentials (aws sts get-caller-identity) and sign in again.");
        }

        if (!Aws.AllowedAccounts.Contains(account!, StringComparer.Ordinal))
        {
            return (null, StatusCodes.Status403Forbidden, $"AWS account {account} may not sign in here (allowed: {string.Join(", ", Aws.AllowedAccounts)}).");
        }

        var (role, names) = Principal(arn);
        var admin = role is not null && Aws.AdminRoles.Contains(role, StringComparer.Ordinal);
        var (user, created, refusal) = await accounts.FindOrCreateAsync("aws", arn, names, admin, cancellationToken);
        if (user is null)
        {
            return (null, StatusCodes.Status403Forbidden, refusal);
        }

        var (signedIn, notIssued) = await accounts.IssueAsync(user, created, request.TokenName, cancellationToken);
        return signedIn is null ? (null, StatusCodes.Status403Forbidden, notIssued) : (signedIn, StatusCodes.Status200OK, "");
    }

    /// <summary>Why the request is not the one call this server sends on, or null.</summary>
    private string? Check(AwsLoginRequest request)
    {
        if (!Uri.TryCreate(request.Url, UriKind.Absolute, out var url) || !Uri.TryCreate(Aws.StsEndpoint, UriKind.Absolute, out var sts)
            || !string.Equals(url.GetLeftPart(UriPartial.Path), sts.GetLeftPart(UriPartial.Path), StringComparison.OrdinalIgnoreCase) || url.Query.Length > 0)
        {
            return $"it is not addressed to this site's STS endpoint ({Aws.StsEndpoint})";
        }

        if (request.Body != Body)
        {
            return $"its body is not '{Body}'";
        }

        var authorization = Header(request, "Authorization");
        var match = authorization is null ? null : AuthorizationPattern().Match(authorization);
        if (match is not { Success: true })
        {
            return "it has no AWS Signature Version 4 Authorization header";
        }

        if (match.Groups["service"].Value != "sts")
        {
            return $"it is signed for the service '{match.Groups["service"].Value}', not sts";
        }

        var signed = match.Groups["signed"].Value.Split(';');
        foreach (var required in new[] { "host", "x-amz-date", ServerIdHeader.ToLowerInvariant() })
        {
            if (!signed.Contains(required, StringComparer.Ordinal))
            {
                return $"the header '{required}' is not among its signed headers ({match.Groups["signed"].Value})";
            }
        }

        if (Header(request, ServerIdHeader) != Aws.ServerId)
        {
            return $"it was signed for another server ({ServerIdHeader}: '{Header(request, ServerIdHeader)}', this one is '{Aws.ServerId}')";
        }

        if (Header(request, "Host") is { } host && !string.Equals(host, url.Authority, StringComparison.OrdinalIgnoreCase) && !string.Equals(host, url.Host, StringComparison.OrdinalIgnoreCase))
        {
            return $"its Host header '{host}' is not the STS endpoint's";
        }

        if (!DateTimeOffset.TryParseExact(Header(request, "X-Amz-Date"), "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            return "it has no X-Amz-Date";
        }

        var skew = (date - timeProvider.GetUtcNow()).Duration();
        return skew > MaxSkew ? $"it was signed at {date:yyyy-MM-dd HH:mm:ss} UTC, more than {MaxSkew.TotalMinutes:0} minutes from this server's clock" : null;
    }

    private async Task<(string? Arn, string? Account, string Why)> CallStsAsync(AwsLoginRequest request, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, Aws.StsEndpoint) { Content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(request.Body)) };
        foreach (var (name, value) in request.Headers)
        {
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                message.Content.Headers.TryAddWithoutValidation(name, value);
            }
            else if (!name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && !name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                message.Headers.TryAddWithoutValidation(name, value);
            }
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(message, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            return (null, null, $"STS could not be reached ({e.Message})");
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            XDocument xml;
            try
            {
                xml = XDocument.Parse(text);
            }
            catch (System.Xml.XmlException)
            {
                return (null, null, $"STS answered {(int)response.StatusCode} with no XML");
            }

            string? Element(string name) => xml.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
            return response.IsSuccessStatusCode && Element("Arn") is { } arn && Element("Account") is { } account
                ? (arn, account, "")
                : (null, null, $"{Element("Code") ?? ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture)}: {Element("Message") ?? "no message"}");
        }
    }

    /// <summary>An assumed role's session (SSO: the session name is the user's login or email) or an IAM user: the role,
    /// if any, and user names to try.</summary>
    private static (string? Role, string?[] Names) Principal(string arn)
    {
        var resource = arn.Split(':', 6) is { Length: 6 } parts ? parts[5] : "";
        var path = resource.Split('/');
        return path switch
        {
            ["assumed-role", var role, var session] => (role, [session.Split('@')[0], session]),
            ["user", .., var name] => (null, [name]),
            _ => (null, [path[^1]]),
        };
    }

    private static string? Header(AwsLoginRequest request, string name) =>
        request.Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    [GeneratedRegex(@"^AWS4-HMAC-SHA256 Credential=(?<key>[A-Z0-9]{16,128})/(?<date>\d{8})/(?<region>[a-z0-9-]+)/(?<service>[a-z0-9-]+)/aws4_request, ?SignedHeaders=(?<signed>[a-z0-9;-]+), ?Signature=(?<signature>[0-9a-f]{64})$")]
    private static partial Regex AuthorizationPattern();

    [LoggerMessage(EventId = 1172, Level = LogLevel.Warning, Message = "AWS sign-in refused: {Why}")]
    private static partial void LogRefused(ILogger logger, string why);
}

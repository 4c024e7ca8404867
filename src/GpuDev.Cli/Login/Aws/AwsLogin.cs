using System.Text.RegularExpressions;
using Amazon.Runtime;
using GpuDev.Contracts;

namespace GpuDev.Cli.Login.Aws;

/// <summary><c>gpu-dev login --aws</c> up to the request the server takes: the server's signing settings checked, the
/// user's AWS credentials found and fetched, the <c>sts:GetCallerIdentity</c> request signed for this server.</summary>
internal sealed partial class AwsLogin(CliServices services)
{
    public const string ProfileVariable = "AWS_PROFILE";

    /// <summary>Signs with the credentials of <paramref name="profile"/> (<c>--aws-profile</c>), else those the AWS CLI
    /// would use.</summary>
    public async Task<AwsLoginRequest> SignAsync(Uri server, AwsSigningDto? signing, string? profile, string tokenName, CancellationToken cancellationToken)
    {
        var usable = Usable(server, signing);
        var fromEnvironment = profile is null && services.Environment.GetVariable(ProfileVariable) is not null;
        var shown = profile ?? services.Environment.GetVariable(ProfileVariable) ?? "default";
        AWSCredentials? found;
        try
        {
            found = await services.AwsCredentials.FindAsync(profile, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not CliException)
        {
            throw AwsCredentialProblems.NotFound(e, shown, profile is not null, fromEnvironment);
        }

        if (found is null)
        {
            throw AwsCredentialProblems.NotFound(new AmazonClientException("no credentials"), shown, profile is not null, fromEnvironment);
        }

        ImmutableCredentials credentials;
        try
        {
            credentials = await found.GetCredentialsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is not CliException)
        {
            throw AwsCredentialProblems.NotFetched(e, found, shown);
        }

        if (credentials is null || string.IsNullOrEmpty(credentials.AccessKey) || string.IsNullOrEmpty(credentials.SecretKey))
        {
            throw AwsCredentialProblems.NotFetched(new AmazonClientException("no access key or secret key"), found, shown);
        }

        return AwsStsRequest.Sign(usable, credentials, services.Time.GetUtcNow(), tokenName);
    }

    /// <summary>The server's signing settings, when they make a request it could send: an http(s) STS URL without a
    /// query, a region name and a server ID.</summary>
    private static AwsSigningDto Usable(Uri server, AwsSigningDto? signing)
    {
        var shown = server.ToString().TrimEnd('/');
        string? wrong = signing switch
        {
            null => "none were given",
            _ when !Uri.TryCreate(signing.StsEndpoint, UriKind.Absolute, out var sts) || (sts.Scheme != Uri.UriSchemeHttps && sts.Scheme != Uri.UriSchemeHttp) || sts.Query.Length > 0
                => $"the STS endpoint \"{signing.StsEndpoint}\" is not an http(s) URL without a query",
            _ when !RegionPattern().IsMatch(signing.Region ?? "") => $"the region \"{signing.Region}\" is not an AWS region name (e.g. us-east-1)",
            _ when string.IsNullOrWhiteSpace(signing.ServerId) => "the server ID is empty",
            _ => null,
        };
        return wrong is null
            ? signing!
            : throw new CliException(ExitCodes.Failure, $"the server at {shown} signs in with AWS credentials but its signing settings are not usable: {wrong}",
                "tell an admin: the server's Auth:Aws settings are wrong");
    }

    [GeneratedRegex("^[a-z0-9-]{1,64}$")]
    private static partial Regex RegionPattern();
}

using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Runtime.Credentials;

namespace GpuDev.Cli.Login.Aws;

/// <summary>The AWS SDK's own credential resolution, so <c>gpu-dev login --aws</c> signs as <c>aws</c> would: the
/// environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), web identity (AWS_ROLE_ARN +
/// AWS_WEB_IDENTITY_TOKEN_FILE), AWS_PROFILE or "default" in ~/.aws/credentials and ~/.aws/config (static keys, SSO,
/// role and credential_process profiles), then container and EC2 instance credentials.</summary>
internal sealed class SdkAwsCredentialSource : IAwsCredentialSource
{
    public async Task<AWSCredentials> FindAsync(string? profile, CancellationToken cancellationToken)
    {
        AwsSdkRuntime.Register();
        try
        {
            if (profile is null)
            {
                using var resolver = new DefaultAWSCredentialsIdentityResolver();
                return await resolver.ResolveIdentityAsync(null, cancellationToken).ConfigureAwait(false);
            }

            // A named profile wins over the environment's keys, as `aws --profile` does; the SDK's chain reads it the same
            // way for AWS_PROFILE (nonCallbackOnly: no interactive SSO sign-in is started from here).
            var files = new CredentialProfileStoreChain();
            if (!files.TryGetProfile(profile, out var found))
            {
                throw new ProfileNotFoundException($"Unable to find the \"{profile}\" profile.");
            }

            return AWSCredentialsFactory.GetAWSCredentials(found, files, nonCallbackOnly: true);
        }
        catch (Exception e) when (e is not OperationCanceledException && IsSsoProfile(profile ?? DefaultAWSCredentialsIdentityResolver.GetProfileName()) is { } sso)
        {
            // The SDK refuses an SSO profile without a cached session; its text ("not allowed here") does not say why.
            throw new AwsSsoSessionMissingException(sso, e);
        }
    }

    private static string? IsSsoProfile(string name) =>
        new CredentialProfileStoreChain().TryGetProfile(name, out var found)
        && (!string.IsNullOrEmpty(found.Options.SsoSession) || !string.IsNullOrEmpty(found.Options.SsoStartUrl))
            ? name
            : null;
}

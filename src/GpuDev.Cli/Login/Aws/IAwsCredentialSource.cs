using Amazon.Runtime;

namespace GpuDev.Cli.Login.Aws;

/// <summary>Where <c>gpu-dev login --aws</c> finds the user's AWS credentials (a seam: tests pass fixed ones, since the
/// real source reads the process environment and ~/.aws).</summary>
internal interface IAwsCredentialSource
{
    /// <summary>The credentials the AWS CLI would use: those of <paramref name="profile"/> when it is given, else the
    /// SDK's default chain. Found, not yet fetched: SSO, role and <c>credential_process</c> profiles get their keys in
    /// <see cref="AWSCredentials.GetCredentialsAsync"/>. Throws the SDK's exceptions when there are none.</summary>
    Task<AWSCredentials> FindAsync(string? profile, CancellationToken cancellationToken);
}

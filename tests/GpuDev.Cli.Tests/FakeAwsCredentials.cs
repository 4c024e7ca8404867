using Amazon.Runtime;
using GpuDev.Cli.Login.Aws;

namespace GpuDev.Cli.Tests;

/// <summary>AWS credentials for <c>login --aws</c> in-process (the SDK's chain would read this process's environment and
/// ~/.aws). By default there are none, failing as the SDK's chain does; records the profile asked for.</summary>
internal sealed class FakeAwsCredentials : IAwsCredentialSource
{
    public AWSCredentials? Credentials { get; set; }

    public Exception Error { get; set; } = new AmazonClientException(
        "Failed to resolve AWS credentials. The credential providers used to search for credentials returned the following errors:\n\n"
        + "Exception 1 of 2: The environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN were not set with AWS credentials.\n"
        + "Exception 2 of 2: Unable to find the \"default\" profile.");

    public List<string?> AskedFor { get; } = [];

    public Task<AWSCredentials> FindAsync(string? profile, CancellationToken cancellationToken)
    {
        AskedFor.Add(profile);
        return Credentials is { } found ? Task.FromResult(found) : Task.FromException<AWSCredentials>(Error);
    }
}

/// <summary>Credentials that are found but fail to give keys, as an SSO, role or credential_process profile can.</summary>
internal sealed class FailingAwsCredentials(Exception error) : AWSCredentials
{
    public override ImmutableCredentials GetCredentials() => throw error;

    public override Task<ImmutableCredentials> GetCredentialsAsync() => Task.FromException<ImmutableCredentials>(error);
}

using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;

namespace GpuDev.Cli.Login.Aws;

/// <summary>The AWS SDK's credential failures as one line and what to run about it (the SDK's own text, often several
/// lines naming every provider it tried, is shown with GPU_DEV_DEBUG=1).</summary>
internal static class AwsCredentialProblems
{
    private const string Files = "~/.aws/credentials nor ~/.aws/config";

    /// <summary>No credentials were found. <paramref name="profile"/> is the profile looked for: given with
    /// <c>--aws-profile</c> (<paramref name="named"/>), else AWS_PROFILE (<paramref name="fromEnvironment"/>) or "default".</summary>
    public static CliException NotFound(Exception error, string profile, bool named, bool fromEnvironment) => error switch
    {
        AwsSsoSessionMissingException sso => SsoLogin($"the AWS profile '{sso.Profile}' is an SSO profile with no SSO session (or its session was cleared)", sso.Profile, error),
        ProfileNotFoundException => new CliException(ExitCodes.Failure, $"the AWS profile '{profile}' is in neither {Files}",
            $"see your profiles with `aws configure list-profiles`; make this one with `aws configure --profile {profile}` or `aws configure sso --profile {profile}`", error),
        ProcessAWSCredentialException => ProcessFailed(error, profile),
        _ when named => new CliException(ExitCodes.Failure, $"the AWS profile '{profile}' gives no credentials: {Reason(error)}",
            $"check it with `aws sts get-caller-identity --profile {profile}`", error),
        _ => new CliException(ExitCodes.Failure,
            $"no AWS credentials found: looked in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), the profile '{profile}'{(fromEnvironment ? " (AWS_PROFILE)" : "")} in ~/.aws/credentials and ~/.aws/config, and container and EC2 instance credentials",
            "run `aws configure`, or `aws sso login --profile NAME` and then `gpu-dev login --aws --aws-profile NAME`", error),
    };

    /// <summary><paramref name="credentials"/> were found but could not give keys (an SSO session, a role, a process).</summary>
    public static CliException NotFetched(Exception error, AWSCredentials credentials, string profile) => (credentials, error) switch
    {
        (SSOAWSCredentials, AmazonClientException) when IsSsoSessionOver(error) => SsoLogin($"the AWS SSO session of the profile '{profile}' has expired", profile, error),
        (SSOAWSCredentials, _) => SsoLogin($"AWS SSO gave no credentials for the profile '{profile}': {Reason(error)}", profile, error),
        (_, ProcessAWSCredentialException) => ProcessFailed(error, profile),
        (AssumeRoleAWSCredentials role, _) => new CliException(ExitCodes.Failure, $"could not assume the role {role.RoleArn} of the AWS profile '{profile}': {Reason(error)}",
            $"check it with `aws sts get-caller-identity --profile {profile}`", error),
        _ => new CliException(ExitCodes.Failure, $"could not get AWS credentials ({credentials.GetType().Name}): {Reason(error)}",
            "check them with `aws sts get-caller-identity`", error),
    };

    private static CliException SsoLogin(string message, string profile, Exception error) =>
        new(ExitCodes.AuthRequired, message, $"run `aws sso login --profile {profile}`, then `gpu-dev login --aws` again", error);

    private static CliException ProcessFailed(Exception error, string profile) =>
        new(ExitCodes.Failure, $"the credential_process of the AWS profile '{profile}' failed: {Reason(error)}",
            $"run it by hand to see why, or check the profile with `aws sts get-caller-identity --profile {profile}`", error);

    /// <summary>The SSO token cache has only an expired token that cannot be refreshed, or none (SSOTokenManager's "SSO
    /// Token has expired and can not be refreshed", "... failed to refresh", "No valid SSO Token could be found").</summary>
    private static bool IsSsoSessionOver(Exception error) => error.Message.Contains("SSO Token", StringComparison.OrdinalIgnoreCase);

    /// <summary>The first line of the error and, where it wraps another, of the innermost one ("Error calling AssumeRole
    /// for role X: Connection refused").</summary>
    private static string Reason(Exception error)
    {
        var innermost = error;
        while (innermost.InnerException is { } inner)
        {
            innermost = inner;
        }

        var outer = FirstLine(error);
        var cause = FirstLine(innermost);
        return ReferenceEquals(innermost, error) || outer.Contains(cause, StringComparison.Ordinal) ? outer : $"{outer}: {cause}";
    }

    private static string FirstLine(Exception error) =>
        error.Message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) is [var first, ..] ? first.TrimEnd('.') : error.GetType().Name;
}

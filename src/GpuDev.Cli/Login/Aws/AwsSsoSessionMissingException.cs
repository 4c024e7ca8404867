namespace GpuDev.Cli.Login.Aws;

/// <summary>The profile is an SSO profile and the SSO token cache has no session for it: <c>aws sso login</c> was never
/// run for it, or its cache was cleared (the SDK refuses such a profile rather than start a sign-in itself).</summary>
internal sealed class AwsSsoSessionMissingException(string profile, Exception inner)
    : Exception($"the AWS profile '{profile}' is an SSO profile with no SSO session", inner)
{
    public string Profile { get; } = profile;
}

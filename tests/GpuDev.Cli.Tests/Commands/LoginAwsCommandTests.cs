using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using GpuDev.Cli.Config;
using GpuDev.Cli.Login.Aws;
using GpuDev.Contracts;
using GpuDev.Testing.Aws;

namespace GpuDev.Cli.Tests.Commands;

/// <summary><c>gpu-dev login --aws</c> in-process with fixed AWS credentials: the signed, unsent sts:GetCallerIdentity
/// request it sends (its signature checked with the SDK-independent <see cref="SigV4"/>), what is saved, and each
/// refusal. The real credential chain and binary: Terminal/LoginAwsProcessTests.</summary>
public sealed partial class LoginAwsCommandTests
{
    private const string AccessKey = "AKIAIOSFODNN7EXAMPLE";
    private const string Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    private const string Sts = "https://sts.us-west-2.amazonaws.com/";
    private const string ServerId = "https://gpu-dev.example.com";
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static CliHarness Harness(AwsSigningDto? signing = null, bool aws = true, AWSCredentials? credentials = null)
    {
        var cli = new CliHarness(withToken: false);
        cli.Aws.Credentials = credentials;
        cli.Http.On("GET", "/api/v1/auth", HttpStatusCode.OK, JsonSerializer.Serialize(
            new AuthInfoDto(null, aws) { AwsSigning = aws ? signing ?? new AwsSigningDto(Sts, "us-west-2", ServerId) : null }, GpuDevJsonContext.Default.AuthInfoDto));
        return cli;
    }

    private static string LoginResult(CliHarness cli) => JsonSerializer.Serialize(
        new LoginResultDto("gdt_aws_session", "alice", false, cli.Now.AddDays(7), true), GpuDevJsonContext.Default.LoginResultDto);

    private static AwsLoginRequest Sent(CliHarness cli) =>
        JsonSerializer.Deserialize(cli.Http.To("POST", "/api/v1/auth/aws").Single().Body!, GpuDevJsonContext.Default.AwsLoginRequest)!;

    private static string Stderr(CliHarness cli) => cli.Console.StdErr.Replace("\r\n", "\n", StringComparison.Ordinal).Trim();

    [Fact]
    public async Task LoginAws_SignsGetCallerIdentityForThisServer_VerifiesIndependently_SavesToken0600()
    {
        using var cli = Harness(credentials: new BasicAWSCredentials(AccessKey, Secret));
        cli.Http.On("POST", "/api/v1/auth/aws", HttpStatusCode.OK, LoginResult(cli));

        var exit = await cli.RunAsync("login", "--aws");

        Assert.True(exit == 0, cli.Console.StdErr);
        var sent = Sent(cli);
        Assert.Equal(Sts, sent.Url);
        Assert.Equal("Action=GetCallerIdentity&Version=2011-06-15", sent.Body);
        Assert.Equal("login devbox", sent.TokenName);
        var headers = sent.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value, StringComparer.Ordinal);
        Assert.Equal(["authorization", "content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-gpudev-server-id"], headers.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("sts.us-west-2.amazonaws.com", headers["host"]);
        Assert.Equal("application/x-www-form-urlencoded; charset=utf-8", headers["content-type"]);
        Assert.Equal(ServerId, headers["x-gpudev-server-id"]);
        Assert.Equal("20300102T100000Z", headers["x-amz-date"]);

        var authorization = AuthorizationPattern().Match(headers["authorization"]);
        Assert.True(authorization.Success, headers["authorization"]);
        Assert.Equal($"{AccessKey}/20300102/us-west-2/sts/aws4_request", authorization.Groups["credential"].Value);
        Assert.Equal("content-type;host;x-amz-content-sha256;x-amz-date;x-gpudev-server-id", authorization.Groups["signed"].Value);
        var signed = authorization.Groups["signed"].Value.Split(';');
        Assert.Equal(SigV4.Signature(Secret, "POST", "/", "", headers, signed, sent.Body, headers["x-amz-date"], "us-west-2", "sts"), authorization.Groups["signature"].Value);

        // Nothing of gpu-dev's own is sent: the sign-in is the credential.
        Assert.All(cli.Http.Requests, r => Assert.False(r.Headers.ContainsKey("Authorization")));
        Assert.Equal([null], cli.Aws.AskedFor);
        Assert.Equal("Signed in as alice — token expires Wed 9 Jan 10:00 UTC (in 7d); new account created", cli.Console.StdOut.Trim());
        var store = new ConfigStore(cli.Environment);
        Assert.Equal("gdt_aws_session", store.GetFromFile(ConfigStore.TokenKey));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(Mode0600, File.GetUnixFileMode(store.FilePath));
        }
    }

    [Fact]
    public async Task LoginAws_SessionToken_IsSentAndSigned_ProfileGoesToTheChain_PortInHost()
    {
        using var cli = Harness(new AwsSigningDto("http://127.0.0.1:4566/", "eu-central-1", "srv"), credentials: new SessionAWSCredentials("ASIATESTSESSION00001", Secret, "session-token-value"));
        cli.Http.On("POST", "/api/v1/auth/aws", HttpStatusCode.OK, LoginResult(cli));

        Assert.Equal(0, await cli.RunAsync("login", "--aws", "--aws-profile", "dev-sso"));

        Assert.Equal(["dev-sso"], cli.Aws.AskedFor);
        var sent = Sent(cli);
        var headers = sent.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value, StringComparer.Ordinal);
        Assert.Equal("session-token-value", headers["x-amz-security-token"]);
        Assert.Equal("127.0.0.1:4566", headers["host"]);
        var authorization = AuthorizationPattern().Match(headers["authorization"]);
        Assert.Equal("content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-gpudev-server-id", authorization.Groups["signed"].Value);
        Assert.Equal(SigV4.Signature(Secret, "POST", "/", "", headers, authorization.Groups["signed"].Value.Split(';'), sent.Body, headers["x-amz-date"], "eu-central-1", "sts"),
            authorization.Groups["signature"].Value);
    }

    [Fact]
    public async Task LoginAws_ServerWithoutAws_OneLine_NothingSignedOrSaved()
    {
        using var cli = Harness(aws: false, credentials: new BasicAWSCredentials(AccessKey, Secret));

        Assert.Equal(1, await cli.RunAsync("login", "--aws"));

        Assert.Equal("error: this server does not sign in with AWS credentials; use 'gpu-dev login' or ask an admin", Stderr(cli));
        Assert.Single(cli.Http.Requests);
        Assert.Empty(cli.Aws.AskedFor);
        Assert.False(File.Exists(new ConfigStore(cli.Environment).FilePath));
    }

    [Fact]
    public async Task LoginAws_NoCredentials_SaysWhereItLookedAndWhatToRun()
    {
        using var cli = Harness();

        Assert.Equal(1, await cli.RunAsync("login", "--aws"));

        Assert.Equal(
            "error: no AWS credentials found: looked in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), the profile 'default' in ~/.aws/credentials and ~/.aws/config, and container and EC2 instance credentials\n"
            + "hint: run `aws configure`, or `aws sso login --profile NAME` and then `gpu-dev login --aws --aws-profile NAME`",
            Stderr(cli));
        Assert.Single(cli.Http.Requests);
        Assert.False(File.Exists(new ConfigStore(cli.Environment).FilePath));
    }

    [Fact]
    public async Task LoginAws_NoCredentials_NamesTheProfileFromAwsProfile()
    {
        using var cli = Harness();
        cli.Environment.Variables["AWS_PROFILE"] = "research";

        Assert.Equal(1, await cli.RunAsync("login", "--aws"));

        Assert.Contains("the profile 'research' (AWS_PROFILE) in ~/.aws/credentials and ~/.aws/config", Stderr(cli), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LoginAws_ProfileNotFound_SaysHowToMakeIt()
    {
        using var cli = Harness();
        cli.Aws.Error = new ProfileNotFoundException("Unable to find the \"nope\" profile.");

        Assert.Equal(1, await cli.RunAsync("login", "--aws", "--aws-profile", "nope"));

        Assert.Equal(
            "error: the AWS profile 'nope' is in neither ~/.aws/credentials nor ~/.aws/config\n"
            + "hint: see your profiles with `aws configure list-profiles`; make this one with `aws configure --profile nope` or `aws configure sso --profile nope`",
            Stderr(cli));
    }

    [Fact]
    public async Task LoginAws_SsoProfileWithoutSession_SaysAwsSsoLogin_Exit4()
    {
        using var cli = Harness();
        cli.Aws.Error = new AwsSsoSessionMissingException("dev-sso", new InvalidOperationException("The profile [dev-sso] is an SSO profile.  This type of profile is not allowed here."));

        Assert.Equal(4, await cli.RunAsync("login", "--aws", "--aws-profile", "dev-sso"));

        Assert.Equal(
            "error: the AWS profile 'dev-sso' is an SSO profile with no SSO session (or its session was cleared)\n"
            + "hint: run `aws sso login --profile dev-sso`, then `gpu-dev login --aws` again",
            Stderr(cli));
        Assert.Single(cli.Http.Requests);
    }

    [Fact]
    public async Task LoginAws_CredentialProcessFails_OneLineWithItsReason()
    {
        using var cli = Harness(credentials: new FailingAwsCredentials(new ProcessAWSCredentialException("AWS credential process terminated with exit code 3")));
        cli.Environment.Variables["AWS_PROFILE"] = "vault";

        Assert.Equal(1, await cli.RunAsync("login", "--aws"));

        Assert.StartsWith("error: the credential_process of the AWS profile 'vault' failed: AWS credential process terminated with exit code 3\n", Stderr(cli), StringComparison.Ordinal);
        Assert.Empty(cli.Http.To("POST", "/api/v1/auth/aws"));
    }

    [Theory]
    [InlineData(401, "The signed request was refused: it was used before (each is good for one sign-in). Sign in again with 'gpu-dev login --aws'.", null)]
    [InlineData(403, "AWS account 999988887777 may not sign in here (allowed: 111122223333).", "ask an admin of the gpu-dev server")]
    public async Task LoginAws_ServerRefuses_ItsDetailInOneLine_Exit4_NothingSaved(int status, string detail, string? hint)
    {
        using var cli = Harness(credentials: new BasicAWSCredentials(AccessKey, Secret));
        cli.Http.On("POST", "/api/v1/auth/aws", (HttpStatusCode)status,
            $$"""{"title":"Refused","status":{{status}},"code":"{{(status == 401 ? "unauthorized" : "forbidden")}}","detail":"{{detail}}"}""");

        Assert.Equal(4, await cli.RunAsync("login", "--aws"));

        Assert.Equal($"error: the server refused the sign-in: {detail}" + (hint is null ? "" : $"\nhint: {hint}"), Stderr(cli));
        Assert.False(File.Exists(new ConfigStore(cli.Environment).FilePath));
    }

    [Fact]
    public async Task LoginAws_ServerGivesNoSigningSettings_TellsAnAdmin()
    {
        using var cli = Harness(new AwsSigningDto("sts.amazonaws.com", "us-east-1", ServerId), credentials: new BasicAWSCredentials(AccessKey, Secret));

        Assert.Equal(1, await cli.RunAsync("login", "--aws"));

        Assert.Equal(
            "error: the server at http://gpu-dev.test:8484 signs in with AWS credentials but its signing settings are not usable: the STS endpoint \"sts.amazonaws.com\" is not an http(s) URL without a query\n"
            + "hint: tell an admin: the server's Auth:Aws settings are wrong",
            Stderr(cli));
    }

    [Fact]
    public async Task LoginAwsProfile_WithoutAws_IsAUsageError()
    {
        using var cli = Harness();

        Assert.Equal(1, await cli.RunAsync("login", "--aws-profile", "dev"));

        Assert.Equal("error: --aws-profile goes with --aws: gpu-dev login --aws --aws-profile NAME", Stderr(cli));
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Login_ServerWithOnlyAws_PointsToLoginAws()
    {
        using var cli = Harness();

        Assert.Equal(1, await cli.RunAsync("login"));

        Assert.Equal("error: the server at http://gpu-dev.test:8484 signs in with AWS credentials, not with an OpenID provider: run `gpu-dev login --aws`", Stderr(cli));
    }

    [GeneratedRegex(@"^AWS4-HMAC-SHA256 Credential=(?<credential>[^,]+), SignedHeaders=(?<signed>[a-z0-9;-]+), Signature=(?<signature>[0-9a-f]{64})$")]
    private static partial Regex AuthorizationPattern();
}

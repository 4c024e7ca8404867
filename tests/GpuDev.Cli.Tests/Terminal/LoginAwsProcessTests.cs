using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using GpuDev.Contracts;
using GpuDev.Testing.Aws;

namespace GpuDev.Cli.Tests.Terminal;

/// <summary><c>gpu-dev login --aws</c> as users run it: the built binary as its own process, its AWS credentials only in
/// its own environment or its own HOME's ~/.aws, resolved by the AWS SDK's chain. The fake gpu-dev server passes the
/// signed request it receives on to <see cref="FakeSts"/> as the real server does, which verifies the SDK-made
/// signature with the SDK-independent <see cref="SigV4"/>. SSO and role profiles get their credentials from fake AWS
/// endpoints (AWS_ENDPOINT_URL_SSO, AWS_ENDPOINT_URL_STS); nothing reaches AWS or an instance metadata service.</summary>
public sealed class LoginAwsProcessTests : IDisposable
{
    private const string Account = "111122223333";
    private const string ServerId = "gpu-dev-process-test";
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private readonly string _temp = Directory.CreateTempSubdirectory("gpu-dev-login-aws-").FullName;
    private readonly FakeHttpServer _server = new();
    private readonly FakeSts _sts = new();
    private readonly List<AwsLoginRequest> _received = [];

    public LoginAwsProcessTests()
    {
        _server
            .On("GET", "/api/v1/auth", JsonSerializer.Serialize(new AuthInfoDto(null, true) { AwsSigning = new AwsSigningDto(_sts.Endpoint, "us-east-1", ServerId) },
                GpuDevJsonContext.Default.AuthInfoDto))
            .On("POST", "/api/v1/auth/aws", SignInAsync);
        Directory.CreateDirectory(Path.Combine(Home, ".aws"));
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Home => Path.Combine(_temp, "home");

    private string ConfigFile => Path.Combine(_temp, "config", "config.json");

    public void Dispose()
    {
        _server.Dispose();
        _sts.Dispose();
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task EnvironmentKeys_FakeStsVerifiesTheSignature_TokenSaved0600()
    {
        _sts.WithKey("AKIAENVIRONMENT00001", "env-secret", $"arn:aws:iam::{Account}:user/alice");

        var (exit, stdout, stderr) = await RunAsync(["login", "--aws"], new() { ["AWS_ACCESS_KEY_ID"] = "AKIAENVIRONMENT00001", ["AWS_SECRET_ACCESS_KEY"] = "env-secret" });

        Assert.True(exit == 0, $"exit {exit}\n{stderr}");
        Assert.StartsWith("Signed in as alice — token expires ", stdout, StringComparison.Ordinal);
        Assert.Equal(1, _sts.Requests);
        var login = Assert.Single(_received);
        Assert.Equal($"login {Environment.MachineName}", login.TokenName);
        Assert.Equal("content-type;host;x-amz-content-sha256;x-amz-date;x-gpudev-server-id", SignedHeaders(login));
        Assert.Equal(ServerId, Header(login, "X-GpuDev-Server-Id"));

        using var config = JsonDocument.Parse(File.ReadAllText(ConfigFile));
        Assert.Equal("gdt_arn:aws:iam::111122223333:user/alice", config.RootElement.GetProperty("token").GetString());
        Assert.Equal(Mode0600, File.GetUnixFileMode(ConfigFile));
    }

    [Fact]
    public async Task EnvironmentSessionToken_IsSigned_FakeStsVerifies()
    {
        _sts.WithKey("ASIAENVIRONMENT00002", "session-secret", $"arn:aws:sts::{Account}:assumed-role/GpuUsers/bob");

        var (exit, stdout, stderr) = await RunAsync(["login", "--aws"], new()
        {
            ["AWS_ACCESS_KEY_ID"] = "ASIAENVIRONMENT00002", ["AWS_SECRET_ACCESS_KEY"] = "session-secret", ["AWS_SESSION_TOKEN"] = "the-session-token",
        });

        Assert.True(exit == 0, $"exit {exit}\n{stderr}");
        Assert.StartsWith("Signed in as bob — ", stdout, StringComparison.Ordinal);
        var login = Assert.Single(_received);
        Assert.Equal("content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-gpudev-server-id", SignedHeaders(login));
        Assert.Equal("the-session-token", Header(login, "X-Amz-Security-Token"));
        Assert.Equal(1, _sts.Requests);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ProfileInCredentialsFile_ByOptionOrAwsProfile_WinsOverNothingElse(bool option)
    {
        _sts.WithKey("AKIAPROFILE000000003", "profile-secret", $"arn:aws:iam::{Account}:user/carol");
        File.WriteAllText(Path.Combine(Home, ".aws", "credentials"), """
            [default]
            aws_access_key_id = AKIADEFAULT000000000
            aws_secret_access_key = default-secret

            [research]
            aws_access_key_id = AKIAPROFILE000000003
            aws_secret_access_key = profile-secret
            """);

        var (exit, stdout, stderr) = option
            ? await RunAsync(["login", "--aws", "--aws-profile", "research"], [])
            : await RunAsync(["login", "--aws"], new() { ["AWS_PROFILE"] = "research" });

        Assert.True(exit == 0, $"exit {exit}\n{stderr}");
        Assert.StartsWith("Signed in as carol — ", stdout, StringComparison.Ordinal);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIAPROFILE000000003/", Header(Assert.Single(_received), "Authorization"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SsoProfile_AfterAwsSsoLogin_RoleCredentialsFromSso_Signed()
    {
        using var portal = new FakeHttpServer();
        var expires = DateTimeOffset.UtcNow.AddHours(1);
        portal.On("GET", $"/federation/credentials?account_id={Account}&role_name=Developer", $$$"""
            {"roleCredentials":{"accessKeyId":"ASIASSO0000000000004","secretAccessKey":"sso-secret","sessionToken":"sso-session-token","expiration":{{{expires.ToUnixTimeMilliseconds()}}}}}
            """);
        _sts.WithKey("ASIASSO0000000000004", "sso-secret", $"arn:aws:sts::{Account}:assumed-role/AWSReservedSSO_Developer_0123456789abcdef/dave@example.com");
        WriteSsoProfile(expiresAt: expires);

        var (exit, stdout, stderr) = await RunAsync(["login", "--aws", "--aws-profile", "dev-sso"], new() { ["AWS_ENDPOINT_URL_SSO"] = portal.Url });

        Assert.True(exit == 0, $"exit {exit}\n{stderr}");
        Assert.StartsWith("Signed in as dave@example.com — ", stdout, StringComparison.Ordinal);
        var call = Assert.Single(portal.Requests);
        Assert.Equal("sso-access-token", call.Headers["x-amz-sso_bearer_token"]);
        Assert.Equal("sso-session-token", Header(Assert.Single(_received), "X-Amz-Security-Token"));
    }

    [Fact]
    public async Task SsoProfile_SessionExpired_SaysAwsSsoLogin_Exit4_NothingSent()
    {
        using var portal = new FakeHttpServer();
        WriteSsoProfile(expiresAt: DateTimeOffset.UtcNow.AddHours(-1));

        var (exit, _, stderr) = await RunAsync(["login", "--aws"], new() { ["AWS_PROFILE"] = "dev-sso", ["AWS_ENDPOINT_URL_SSO"] = portal.Url });

        Assert.True(exit == 4, $"exit {exit}\n{stderr}");
        Assert.Equal("error: the AWS SSO session of the profile 'dev-sso' has expired\nhint: run `aws sso login --profile dev-sso`, then `gpu-dev login --aws` again",
            stderr.Trim().Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Empty(portal.Requests);
        Assert.Empty(_received);
    }

    [Fact]
    public async Task SsoProfile_NeverSignedIn_SaysAwsSsoLogin()
    {
        WriteSsoProfile(expiresAt: null);

        var (exit, _, stderr) = await RunAsync(["login", "--aws", "--aws-profile", "dev-sso"], []);

        Assert.True(exit == 4, $"exit {exit}\n{stderr}");
        Assert.Contains("hint: run `aws sso login --profile dev-sso`", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RoleProfile_AssumesTheRoleWithTheSourceProfile_SignsWithTheRolesKeys()
    {
        using var sts = new FakeHttpServer();
        var expires = DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        sts.On("POST", "/", _ => Task.FromResult(new FakeAnswer(200, $"""
            <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <AssumeRoleResult>
                <Credentials><AccessKeyId>ASIAROLE000000000005</AccessKeyId><SecretAccessKey>role-secret</SecretAccessKey><SessionToken>role-session-token</SessionToken><Expiration>{expires}</Expiration></Credentials>
                <AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:erin</AssumedRoleId><Arn>arn:aws:sts::{Account}:assumed-role/GpuUsers/erin</Arn></AssumedRoleUser>
              </AssumeRoleResult>
              <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
            </AssumeRoleResponse>
            """, "text/xml")));
        _sts.WithKey("ASIAROLE000000000005", "role-secret", $"arn:aws:sts::{Account}:assumed-role/GpuUsers/erin");
        File.WriteAllText(Path.Combine(Home, ".aws", "config"), $"""
            [profile keys]
            aws_access_key_id = AKIASOURCE0000000006
            aws_secret_access_key = source-secret

            [profile gpu]
            role_arn = arn:aws:iam::{Account}:role/GpuUsers
            role_session_name = erin
            source_profile = keys
            """);

        var (exit, stdout, stderr) = await RunAsync(["login", "--aws", "--aws-profile", "gpu"], new() { ["AWS_ENDPOINT_URL_STS"] = sts.Url });

        Assert.True(exit == 0, $"exit {exit}\n{stderr}");
        Assert.StartsWith("Signed in as erin — ", stdout, StringComparison.Ordinal);
        var assume = Assert.Single(sts.Requests);
        Assert.Contains("Action=AssumeRole", assume.Body, StringComparison.Ordinal);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIASOURCE0000000006/", assume.Headers["Authorization"], StringComparison.Ordinal);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=ASIAROLE000000000005/", Header(Assert.Single(_received), "Authorization"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoCredentials_SaysWhereItLooked_NothingSent_ConfigUnchanged()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(ConfigFile)!);
        const string before = "{\n  \"token\": \"gdt_before\"\n}\n";
        File.WriteAllText(ConfigFile, before);

        var (exit, _, stderr) = await RunAsync(["login", "--aws"], []);

        Assert.True(exit == 1, $"exit {exit}\n{stderr}");
        Assert.StartsWith("error: no AWS credentials found: looked in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), the profile 'default' in ~/.aws/credentials",
            stderr, StringComparison.Ordinal);
        Assert.Contains("hint: run `aws configure`, or `aws sso login --profile NAME`", stderr, StringComparison.Ordinal);
        Assert.Empty(_received);
        Assert.Equal(before, File.ReadAllText(ConfigFile));
    }

    /// <summary>What the real server does with the signed request: sends it to STS and signs in the ARN STS answers.</summary>
    private async Task<FakeAnswer> SignInAsync(RecordedRequest request)
    {
        var login = JsonSerializer.Deserialize(request.Body!, GpuDevJsonContext.Default.AwsLoginRequest)!;
        lock (_received)
        {
            _received.Add(login);
        }

        using var http = new HttpClient();
        using var message = new HttpRequestMessage(HttpMethod.Post, login.Url) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(login.Body)) };
        foreach (var (name, value) in login.Headers)
        {
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                message.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(value);
            }
            else if (!name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                message.Headers.TryAddWithoutValidation(name, value);
            }
        }

        using var response = await http.SendAsync(message, Ct);
        var xml = XDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        string? Element(string name) => xml.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value;
        if (!response.IsSuccessStatusCode || Element("Arn") is not { } arn)
        {
            return new FakeAnswer(401, $$"""{"title":"Unauthorized","status":401,"code":"unauthorized","detail":"AWS did not accept the signed request: {{Element("Code")}}"}""");
        }

        var result = new LoginResultDto("gdt_" + arn, arn.Split('/')[^1], false, DateTimeOffset.UtcNow.AddDays(7), true);
        return new FakeAnswer(200, JsonSerializer.Serialize(result, GpuDevJsonContext.Default.LoginResultDto));
    }

    /// <summary>An SSO profile as `aws configure sso` writes it and, unless <paramref name="expiresAt"/> is null, the token
    /// `aws sso login` caches (~/.aws/sso/cache/SHA1(session name).json).</summary>
    private void WriteSsoProfile(DateTimeOffset? expiresAt)
    {
        File.WriteAllText(Path.Combine(Home, ".aws", "config"), $"""
            [profile dev-sso]
            sso_session = corp
            sso_account_id = {Account}
            sso_role_name = Developer
            region = us-east-1

            [sso-session corp]
            sso_start_url = https://corp.awsapps.com/start
            sso_region = us-east-1
            sso_registration_scopes = sso:account:access
            """);
        if (expiresAt is { } at)
        {
            var cache = Directory.CreateDirectory(Path.Combine(Home, ".aws", "sso", "cache")).FullName;
            File.WriteAllText(Path.Combine(cache, Convert.ToHexStringLower(SHA1.HashData("corp"u8)) + ".json"), $$"""
                {"startUrl":"https://corp.awsapps.com/start","region":"us-east-1","accessToken":"sso-access-token","expiresAt":"{{at.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}}"}
                """);
        }
    }

    private static string? Header(AwsLoginRequest login, string name) =>
        login.Headers.FirstOrDefault(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

    private static string SignedHeaders(AwsLoginRequest login)
    {
        var authorization = Header(login, "Authorization")!;
        var start = authorization.IndexOf("SignedHeaders=", StringComparison.Ordinal) + "SignedHeaders=".Length;
        return authorization[start..authorization.IndexOf(',', start)];
    }

    /// <summary>Runs the gpu-dev binary with a fresh HOME and config directory and only the AWS variables given: none of
    /// the machine's own, and no instance metadata service (AWS_EC2_METADATA_DISABLED).</summary>
    private async Task<(int Exit, string StdOut, string StdErr)> RunAsync(string[] args, Dictionary<string, string> aws)
    {
        var binary = Path.Combine(AppContext.BaseDirectory, "gpu-dev");
        Assert.True(File.Exists(binary), $"the gpu-dev binary is missing at {binary}; build the solution first");
        var info = new ProcessStartInfo(binary, args) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (var name in new[] { "GPU_DEV_TOKEN", "GPU_DEV_DEBUG", "GPU_DEV_INSECURE", "XDG_CONFIG_HOME", "CI" })
        {
            info.Environment.Remove(name);
        }

        info.Environment["HOME"] = Home;
        info.Environment["GPU_DEV_CONFIG_DIR"] = Path.GetDirectoryName(ConfigFile)!;
        info.Environment["GPU_DEV_SERVER"] = _server.Url;
        info.Environment["DOTNET_ROOT"] = Environment.GetEnvironmentVariable("DOTNET_ROOT")
            ?? Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));
        info.Environment["NO_COLOR"] = "1";
        info.Environment["AWS_EC2_METADATA_DISABLED"] = "true";
        foreach (var (name, value) in aws)
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        try
        {
            await process.WaitForExitAsync(Ct).WaitAsync(s_timeout, Ct);
            return (process.ExitCode, await stdout, await stderr);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}

using System.Diagnostics;
using System.Text.Json;
using GpuDev.Contracts;
using GpuDev.Testing.Oidc;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace GpuDev.Cli.Tests.Terminal;

/// <summary><c>gpu-dev login</c> as users run it: the built binary as its own process, against the real OpenID test
/// provider (oidc-provider) and a fake gpu-dev server that names it. The test reads the user code the CLI prints and
/// signs in through the provider's pages as a browser would; the CLI polls at the RFC's 5 s, so each test takes 5-10 s.</summary>
public sealed class LoginProcessTests : IDisposable
{
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    private readonly string _temp = Directory.CreateTempSubdirectory("gpu-dev-login-").FullName;
    private readonly FakeHttpServer _server = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string ConfigFile => Path.Combine(_temp, "config", "config.json");

    public void Dispose()
    {
        _server.Dispose();
        try
        {
            Directory.Delete(_temp, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Login_RealProvider_ServerGetsAValidIdToken_TokenSaved0600()
    {
        await using var oidc = await StartProviderAsync();
        var expires = DateTimeOffset.UtcNow.AddDays(30);
        _server
            .On("GET", "/api/v1/auth", JsonSerializer.Serialize(new AuthInfoDto(new OidcInfoDto(oidc.Issuer, oidc.ClientId, OidcTestProvider.DefaultScope), false),
                GpuDevJsonContext.Default.AuthInfoDto))
            .On("POST", "/api/v1/auth/oidc", JsonSerializer.Serialize(new LoginResultDto("gdt_from_login", "alice", false, expires, true),
                GpuDevJsonContext.Default.LoginResultDto));

        var (exit, stdout, stderr) = await RunLoginAsync(code => oidc.CompleteDeviceLoginAsync(code, "u-alice", approve: true, Ct));

        Assert.True(exit == 0, $"exit {exit}\n{stderr}\n{oidc.Log}");
        Assert.StartsWith("Signed in as alice — token expires ", stdout, StringComparison.Ordinal);
        Assert.EndsWith("; new account created", stdout.TrimEnd(), StringComparison.Ordinal);

        var login = Assert.Single(_server.Requests, r => r.Method == HttpMethod.Post);
        Assert.Equal("/api/v1/auth/oidc", login.PathAndQuery);
        Assert.False(login.Headers.ContainsKey("Authorization"));
        var body = JsonSerializer.Deserialize(login.Body!, GpuDevJsonContext.Default.OidcLoginRequest)!;
        Assert.Equal($"login {Environment.MachineName}", body.TokenName);
        var validated = await ValidateAsync(oidc, body.IdToken);
        Assert.True(validated.IsValid, validated.Exception?.ToString());
        Assert.Equal("u-alice", validated.ClaimsIdentity.FindFirst("sub")!.Value);
        Assert.Equal("alice@example.com", validated.ClaimsIdentity.FindFirst("email")!.Value);

        using var config = JsonDocument.Parse(File.ReadAllText(ConfigFile));
        Assert.Equal("gdt_from_login", config.RootElement.GetProperty("token").GetString());
        Assert.Equal(Mode0600, File.GetUnixFileMode(ConfigFile));
    }

    [Fact]
    public async Task Login_RealProvider_Denied_SaysSo_Exit4_ConfigUnchanged()
    {
        await using var oidc = await StartProviderAsync();
        _server.On("GET", "/api/v1/auth", JsonSerializer.Serialize(new AuthInfoDto(new OidcInfoDto(oidc.Issuer, oidc.ClientId, OidcTestProvider.DefaultScope), false),
            GpuDevJsonContext.Default.AuthInfoDto));
        Directory.CreateDirectory(Path.GetDirectoryName(ConfigFile)!);
        const string before = "{\n  \"token\": \"gdt_before\"\n}\n";
        File.WriteAllText(ConfigFile, before);

        var (exit, _, stderr) = await RunLoginAsync(code => oidc.CompleteDeviceLoginAsync(code, "u-alice", approve: false, Ct));

        Assert.True(exit == 4, $"exit {exit}\n{stderr}");
        Assert.EndsWith("error: sign-in was denied", stderr.TrimEnd(), StringComparison.Ordinal);
        Assert.DoesNotContain(_server.Requests, r => r.Method == HttpMethod.Post);
        Assert.Equal(before, File.ReadAllText(ConfigFile));
    }

    private static async Task<OidcTestProvider> StartProviderAsync()
    {
        return await OidcTestProvider.StartAsync(cancellationToken: Ct);
    }

    /// <summary>Runs <c>gpu-dev login</c> with a fresh home and config directory, waits for the user code it prints,
    /// hands the code to <paramref name="signIn"/> (the user at the browser), and returns how the CLI ended.</summary>
    private async Task<(int Exit, string StdOut, string StdErr)> RunLoginAsync(Func<string, Task> signIn)
    {
        var binary = Path.Combine(AppContext.BaseDirectory, "gpu-dev");
        Assert.True(File.Exists(binary), $"the gpu-dev binary is missing at {binary}; build the solution first");
        var info = new ProcessStartInfo(binary, ["login"])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        var home = Path.Combine(_temp, "home");
        Directory.CreateDirectory(home);
        info.Environment["HOME"] = home;
        info.Environment["GPU_DEV_CONFIG_DIR"] = Path.GetDirectoryName(ConfigFile)!;
        info.Environment["GPU_DEV_SERVER"] = _server.Url;
        info.Environment["DOTNET_ROOT"] = Environment.GetEnvironmentVariable("DOTNET_ROOT")
            ?? Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));
        info.Environment["NO_COLOR"] = "1";

        // Whatever the machine running the tests has: no token or server of its own, no browser popping up, no prompts.
        foreach (var name in new[] { "GPU_DEV_TOKEN", "GPU_DEV_DEBUG", "GPU_DEV_INSECURE", "XDG_CONFIG_HOME", "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "CI" })
        {
            info.Environment.Remove(name);
        }

        var result = await DeviceLoginProcess.RunAsync(info, signIn, s_timeout, Ct);
        return (result.ExitCode, result.Stdout, result.Stderr);
    }

    private static async Task<TokenValidationResult> ValidateAsync(OidcTestProvider oidc, string idToken)
    {
        var manager = new ConfigurationManager<OpenIdConnectConfiguration>(oidc.DiscoveryUri.ToString(), new OpenIdConnectConfigurationRetriever(),
            new HttpDocumentRetriever { RequireHttps = false });
        var config = await manager.GetConfigurationAsync(Ct);
        return await new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = oidc.Issuer,
            ValidAudience = oidc.ClientId,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256],
            IssuerSigningKeys = config.SigningKeys,
        });
    }
}

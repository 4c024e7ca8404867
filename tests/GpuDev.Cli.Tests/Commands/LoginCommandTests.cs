using System.Net;
using System.Text.Json;
using GpuDev.Cli.Config;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests.Commands;

/// <summary><c>gpu-dev login</c>'s side of the device flow against canned provider answers: what is polled and how often,
/// each way the provider can end it, and what is saved. The flow against a real provider: Terminal/LoginProcessTests.</summary>
public sealed class LoginCommandTests
{
    private const string Authority = "https://idp.example.com";
    private const string Complete = "https://idp.example.com/device?user_code=WDJB-MJHT";
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private static readonly DateTimeOffset Now = new(2030, 1, 2, 10, 0, 0, TimeSpan.Zero);

    /// <summary>A CLI without a token whose server names the provider at <see cref="Authority"/>; the provider's discovery
    /// and device answers are these unless given (the fake handler answers in the order routes were added).</summary>
    private static CliHarness Harness(bool withServerEnv = true, string? authInfo = null, string? discovery = null, string? device = null)
    {
        var cli = new CliHarness(withToken: false) { Time = new RecordingTimeProvider(Now) };
        if (!withServerEnv)
        {
            cli.Environment.Variables.Remove(EnvVars.Server);
        }

        cli.Http
            .On("GET", "/api/v1/auth", HttpStatusCode.OK, authInfo ?? AuthInfo(new OidcInfoDto(Authority, "gpu-dev-cli", "openid email profile")))
            .On("GET", "/.well-known/openid-configuration", HttpStatusCode.OK, discovery ??
                $$"""{"issuer":"{{Authority}}","device_authorization_endpoint":"{{Authority}}/device/auth","token_endpoint":"{{Authority}}/token","jwks_uri":"{{Authority}}/jwks"}""")
            .On("POST", "/device/auth", HttpStatusCode.OK, device ??
                $$"""{"device_code":"dev-code-1","user_code":"WDJB-MJHT","verification_uri":"{{Authority}}/device","verification_uri_complete":"{{Complete}}","expires_in":600}""");
        return cli;
    }

    private static string AuthInfo(OidcInfoDto? oidc) => JsonSerializer.Serialize(new AuthInfoDto(oidc, false), GpuDevJsonContext.Default.AuthInfoDto);

    private static string LoginResult(bool admin = true, bool created = true) =>
        JsonSerializer.Serialize(new LoginResultDto("gdt_session", "alice", admin, Now.AddDays(30), created), GpuDevJsonContext.Default.LoginResultDto);

    private static string OAuthError(string error, string? description = null) =>
        description is null ? $$"""{"error":"{{error}}"}""" : $$"""{"error":"{{error}}","error_description":"{{description}}"}""";

    private static IReadOnlyList<TimeSpan> Delays(CliHarness cli) => ((RecordingTimeProvider)cli.Time!).Delays;

    [Fact]
    public async Task Login_PendingSlowDownThenIdToken_PollsAtTheRfcIntervals_SavesTokenAndServer0600()
    {
        using var cli = Harness(withServerEnv: false);
        cli.Http
            .On("POST", "/token", HttpStatusCode.BadRequest, OAuthError("authorization_pending"))
            .On("POST", "/token", HttpStatusCode.BadRequest, OAuthError("slow_down"))
            .On("POST", "/token", HttpStatusCode.OK, """{"access_token":"at","token_type":"Bearer","id_token":"eyJ.id.token","expires_in":3600}""")
            .On("POST", "/api/v1/auth/oidc", HttpStatusCode.OK, LoginResult());

        var exit = await cli.RunAsync("login", "--server", CliHarness.Server);

        Assert.True(exit == 0, cli.Console.StdErr);
        // No interval in the device answer: RFC 8628's 5 s, and slow_down adds 5 s for every later poll.
        Assert.Equal([TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)], Delays(cli));
        var device = cli.Http.To("POST", "/device/auth").Single();
        Assert.Equal("client_id=gpu-dev-cli&scope=openid+email+profile", device.Body);
        var polls = cli.Http.To("POST", "/token").ToList();
        Assert.Equal(3, polls.Count);
        Assert.All(polls, p => Assert.Equal("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=dev-code-1&client_id=gpu-dev-cli", p.Body));

        var login = cli.Http.To("POST", "/api/v1/auth/oidc").Single();
        Assert.Equal("""{"idToken":"eyJ.id.token","tokenName":"login devbox"}""", login.Body);
        Assert.False(login.Headers.ContainsKey("Authorization"));
        Assert.All(cli.Http.Requests, r => Assert.False(r.Headers.ContainsKey("Authorization")));

        Assert.Equal("Signed in as alice (admin) — token expires Fri 1 Feb 10:00 UTC (in 30d); new account created", cli.Console.StdOut.Trim());
        Assert.Contains(Complete, cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("and check that it shows this code:", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("    WDJB-MJHT", cli.Console.StdErr, StringComparison.Ordinal);
        var store = new ConfigStore(cli.Environment);
        Assert.Equal("gdt_session", store.GetFromFile(ConfigStore.TokenKey));
        Assert.Equal(CliHarness.Server, store.GetFromFile(ConfigStore.ServerKey));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(Mode0600, File.GetUnixFileMode(store.FilePath));
        }
    }

    [Fact]
    public async Task Login_ExistingUserNotAdmin_IntervalFromTheProvider_ServerFromTheEnvironmentNotSaved()
    {
        using var cli = Harness(device: """{"device_code":"d","user_code":"ABCD","verification_uri":"https://idp.example.com/activate","interval":"2"}""");
        cli.Http
            .On("POST", "/token", HttpStatusCode.OK, """{"id_token":"eyJ.id.token"}""")
            .On("POST", "/api/v1/auth/oidc", HttpStatusCode.OK, LoginResult(admin: false, created: false));

        Assert.Equal(0, await cli.RunAsync("login"));

        Assert.Equal([TimeSpan.FromSeconds(2)], Delays(cli));
        Assert.Equal("Signed in as alice — token expires Fri 1 Feb 10:00 UTC (in 30d)", cli.Console.StdOut.Trim());
        Assert.Contains("https://idp.example.com/activate", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("and enter this code:", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Null(new ConfigStore(cli.Environment).GetFromFile(ConfigStore.ServerKey));
    }

    [Fact]
    public async Task Login_ServerWithoutSignIn_SaysAnAdminMustCreateAToken()
    {
        using var cli = Harness(authInfo: AuthInfo(null));

        var exit = await cli.RunAsync("login");

        Assert.Equal(1, exit);
        Assert.Equal(
            "error: the server at http://gpu-dev.test:8484 has no sign-in configured: an admin must create a token for you (`gpu-dev admin user add NAME` or `gpu-dev-server user add NAME`)\n"
            + "hint: then set it with `gpu-dev config set token TOKEN`",
            cli.Console.StdErr.Trim().Replace("\r\n", "\n", StringComparison.Ordinal));
        Assert.Single(cli.Http.Requests);
        Assert.False(File.Exists(new ConfigStore(cli.Environment).FilePath));
    }

    [Fact]
    public async Task Login_ServerOlderThanSignIn_404_HintSaysSo()
    {
        using var cli = new CliHarness(withToken: false);

        Assert.Equal(1, await cli.RunAsync("login"));

        Assert.Contains("hint: a server older than sign-in answers so", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Single(cli.Http.Requests);
    }

    [Theory]
    [InlineData("access_denied", null, 4, "error: sign-in was denied")]
    [InlineData("expired_token", null, 1, "error: the code expired; run gpu-dev login again")]
    [InlineData("invalid_grant", "grant request is invalid", 1, "error: the OpenID provider https://idp.example.com refused the sign-in: invalid_grant: grant request is invalid")]
    public async Task Login_ProviderEndsTheWait_OneLineNothingSaved(string error, string? description, int code, string expected)
    {
        using var cli = Harness();
        cli.Http
            .On("POST", "/token", HttpStatusCode.BadRequest, OAuthError("authorization_pending"))
            .On("POST", "/token", HttpStatusCode.BadRequest, OAuthError(error, description));

        var exit = await cli.RunAsync("login");

        Assert.Equal(code, exit);
        Assert.EndsWith(expected, cli.Console.StdErr.Trim(), StringComparison.Ordinal);
        Assert.Empty(cli.Http.To("POST", "/api/v1/auth/oidc"));
        Assert.False(File.Exists(new ConfigStore(cli.Environment).FilePath));
    }

    [Fact]
    public async Task Login_CodeExpiresLocally_WhenTheProviderKeepsSayingPending()
    {
        var time = new SteppingTimeProvider(Now, TimeSpan.FromMinutes(4));
        using var cli = Harness();
        cli.Time = time;
        cli.Http.On("POST", "/token", HttpStatusCode.BadRequest, OAuthError("authorization_pending"));

        var exit = await cli.RunAsync("login");

        Assert.Equal(1, exit);
        Assert.EndsWith("error: the code expired; run gpu-dev login again", cli.Console.StdErr.Trim(), StringComparison.Ordinal);
        Assert.Equal(2, cli.Http.To("POST", "/token").Count());
    }

    [Fact]
    public async Task Login_CtrlC_WhileWaiting_Exit2NothingSaved()
    {
        using var cli = Harness();
        cli.Http.On("POST", "/token", HttpStatusCode.BadRequest, OAuthError("authorization_pending"));
        cli.Http.OnRequest = r =>
        {
            if (r.PathAndQuery == "/token")
            {
                cli.Cancellation.Cancel();
            }
        };

        var exit = await cli.RunAsync("login");

        Assert.Equal(2, exit);
        Assert.EndsWith("error: sign-in stopped; nothing was saved", cli.Console.StdErr.Trim(), StringComparison.Ordinal);
        Assert.False(File.Exists(new ConfigStore(cli.Environment).FilePath));
    }

    [Fact]
    public async Task Login_ServerRefusesTheIdToken_ShowsItsReason_Exit4()
    {
        using var cli = Harness();
        cli.Http
            .On("POST", "/token", HttpStatusCode.OK, """{"id_token":"eyJ.id.token"}""")
            .On("POST", "/api/v1/auth/oidc", HttpStatusCode.Unauthorized,
                """{"title":"Unauthorized","status":401,"code":"unauthorized","detail":"The account 'alice' is disabled; ask an admin."}""");

        var exit = await cli.RunAsync("login");

        Assert.Equal(4, exit);
        Assert.Contains("error: the server refused the sign-in: The account 'alice' is disabled; ask an admin.\n",
            cli.Console.StdErr.Replace("\r\n", "\n", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.False(File.Exists(new ConfigStore(cli.Environment).FilePath));
    }

    [Fact]
    public async Task Login_ProviderWithoutTheDeviceGrant_SaysSo()
    {
        using var cli = Harness(discovery: $$"""{"issuer":"{{Authority}}","token_endpoint":"{{Authority}}/token"}""");

        Assert.Equal(1, await cli.RunAsync("login"));

        Assert.StartsWith("error: the OpenID provider https://idp.example.com has no usable device_authorization_endpoint in its discovery document",
            cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_PlainHttpProviderOnAnotherMachine_Refused()
    {
        using var cli = Harness(authInfo: AuthInfo(new OidcInfoDto("http://idp.example.com", "gpu-dev-cli", "openid")));
        cli.Environment.Variables.Remove(EnvVars.Insecure);
        cli.Environment.Variables[EnvVars.Server] = "http://127.0.0.1:8484";

        Assert.Equal(1, await cli.RunAsync("login"));

        Assert.StartsWith("error: refusing to send your sign-in in clear to http://idp.example.com", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Single(cli.Http.Requests);
    }

    [Theory]
    [InlineData(new[] { "DISPLAY=:0" }, false, true)]
    [InlineData(new[] { "WAYLAND_DISPLAY=wayland-0" }, false, true)]
    [InlineData(new[] { "DISPLAY=:0" }, true, false)]
    [InlineData(new[] { "DISPLAY=:0", "SSH_CONNECTION=10.0.0.1 5000 10.0.0.2 22" }, false, false)]
    [InlineData(new string[0], false, false)]
    public async Task Login_OpensTheBrowserOnlyInALocalGraphicalSession(string[] variables, bool noBrowser, bool opened)
    {
        if (OperatingSystem.IsMacOS())
        {
            return;
        }

        using var cli = Harness();
        foreach (var v in variables)
        {
            cli.Environment.Variables[v.Split('=')[0]] = v.Split('=', 2)[1];
        }

        cli.Http
            .On("POST", "/token", HttpStatusCode.OK, """{"id_token":"eyJ.id.token"}""")
            .On("POST", "/api/v1/auth/oidc", HttpStatusCode.OK, LoginResult());

        Assert.Equal(0, await cli.RunAsync(noBrowser ? ["login", "--no-browser"] : ["login"]));

        Assert.Equal(opened ? [Complete] : [], cli.OpenedUrls);
        Assert.Equal(opened, cli.Console.StdErr.Contains("(opened in your browser)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Login_WithGpuDevTokenSet_WarnsThatItOverridesTheSavedToken()
    {
        using var cli = Harness();
        cli.Environment.Variables[EnvVars.Token] = "tok_old";
        cli.Http
            .On("POST", "/token", HttpStatusCode.OK, """{"id_token":"eyJ.id.token"}""")
            .On("POST", "/api/v1/auth/oidc", HttpStatusCode.OK, LoginResult());

        Assert.Equal(0, await cli.RunAsync("login"));

        Assert.Contains("warning: GPU_DEV_TOKEN is set and overrides the saved token", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.All(cli.Http.Requests, r => Assert.False(r.Headers.ContainsKey("Authorization")));
    }

    [Fact]
    public async Task Login_BadServerOption_RefusedBeforeAnyRequest()
    {
        using var cli = Harness();

        Assert.Equal(1, await cli.RunAsync("login", "--server", "gpu-dev.example.com"));

        Assert.Equal("error: --server must be an absolute http or https URL, e.g. http://127.0.0.1:8484; got \"gpu-dev.example.com\"", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }

    /// <summary>A clock that moves <paramref name="step"/> forward at every timer (which fires after 1 ms).</summary>
    private sealed class SteppingTimeProvider(DateTimeOffset start, TimeSpan step) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

        public override DateTimeOffset GetUtcNow()
        {
            lock (this)
            {
                return _now;
            }
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            lock (this)
            {
                _now += step;
            }

            return System.CreateTimer(callback, state, TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
        }
    }
}

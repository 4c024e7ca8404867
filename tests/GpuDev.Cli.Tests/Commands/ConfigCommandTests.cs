namespace GpuDev.Cli.Tests.Commands;

public sealed class ConfigCommandTests
{
    [Fact]
    public async Task SetShow_RoundTrip_FileWrittenWithMode0600AndTokenMasked()
    {
        using var cli = new CliHarness(tty: false, withToken: false);
        cli.Environment.Variables.Remove(EnvVars.Server);

        Assert.Equal(0, await cli.RunAsync("config", "set", "github_user", "octocat"));
        Assert.Equal(0, await cli.RunAsync("config", "set", "server", "http://x:1234"));
        Assert.Equal(0, await cli.RunAsync("config", "set", "token", "secret-token-value"));
        var exit = await cli.RunAsync("config", "show");

        Assert.Equal(0, exit);
        var file = Path.Combine(cli.TempDir, "config", "config.json");
        Assert.True(File.Exists(file));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }

        var text = File.ReadAllText(file);
        Assert.Contains("\"github_user\": \"octocat\"", text, StringComparison.Ordinal);
        var output = cli.Console.StdOut;
        Assert.Contains("server\thttp://x:1234\tconfig file", output, StringComparison.Ordinal);
        Assert.Contains("token\tsecr…\tconfig file", output, StringComparison.Ordinal);
        Assert.Contains("github_user\toctocat", output, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token-value", output, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token-value", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SetGithubUser_SentToTheServer_RefusedLoginNotKept()
    {
        using var cli = new CliHarness(tty: false);
        cli.Http.On("PUT", "/api/v1/me/github-user", System.Net.HttpStatusCode.OK, """{"name":"alice","githubUser":"octocat","admin":false,"provider":"local"}""")
            .On("PUT", "/api/v1/me/github-user", System.Net.HttpStatusCode.BadRequest,
                """{"title":"Invalid request","status":400,"code":"validation","detail":"There is no GitHub user ghost-gh (their keys page answered 404 Not Found)."}""");

        var ok = await cli.RunAsync("config", "set", "github_user", "@octocat");
        var refused = await cli.RunAsync("config", "set", "github_user", "ghost-gh");
        var malformed = await cli.RunAsync("config", "set", "github_user", "bad user!");

        Assert.True((ok, refused, malformed) == (0, 1, 1), cli.Console.StdErr);
        Assert.Contains("\"githubUser\":\"octocat\"", cli.Http.To("PUT", "/api/v1/me/github-user").First().Body, StringComparison.Ordinal);
        Assert.Contains("There is no GitHub user ghost-gh", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("github_user must be a GitHub login", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Equal(2, cli.Http.To("PUT", "/api/v1/me/github-user").Count());
        Assert.Contains("\"github_user\": \"octocat\"", File.ReadAllText(Path.Combine(cli.TempDir, "config", "config.json")), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8484/api/v1")]
    [InlineData("http://127.0.0.1:8484/api/v1/")]
    public async Task SetServer_ApiPath_RefusedWithTheRoot(string url)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("config", "set", "server", url);

        Assert.Equal(1, exit);
        Assert.Contains("ends in the API path; give the server's root instead: http://127.0.0.1:8484", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_EnvironmentOverridesFile()
    {
        using var cli = new CliHarness(tty: false);
        await cli.RunAsync("config", "set", "server", "http://from-file:1");

        await cli.RunAsync("config", "show");

        Assert.Contains($"server\t{CliHarness.Server}\tGPU_DEV_SERVER", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Set_UnknownKey_ErrorListsValidKeys()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("config", "set", "color", "blue");

        Assert.Equal(1, exit);
        Assert.Equal("error: unknown config key \"color\"; valid keys: server, token, github_user, insecure", cli.Console.StdErr.Trim());
    }

    [Fact]
    public async Task Set_ServerNotUrl_Error()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("config", "set", "server", "localhost");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: server must be an absolute http or https URL", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Set_XdgConfigHome_UsedWhenNoConfigDir()
    {
        using var cli = new CliHarness();
        cli.Environment.Variables.Remove(EnvVars.ConfigDir);
        cli.Environment.Variables[EnvVars.XdgConfigHome] = Path.Combine(cli.TempDir, "xdg");

        Assert.Equal(0, await cli.RunAsync("config", "set", "insecure", "true"));

        Assert.True(File.Exists(Path.Combine(cli.TempDir, "xdg", "gpu-dev", "config.json")));
    }
}

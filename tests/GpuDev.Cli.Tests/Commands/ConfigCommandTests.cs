namespace GpuDev.Cli.Tests.Commands;

public sealed class ConfigCommandTests
{
    [Fact]
    public async Task SetShow_RoundTrip_FileWrittenWithMode0600AndTokenMasked()
    {
        using var cli = new CliHarness(tty: false, withToken: false);
        cli.Environment.Variables.Remove(EnvVars.Server);

        Assert.Equal(0, await cli.RunAsync("config", "set", "server", "http://x:1234"));
        Assert.Equal(0, await cli.RunAsync("config", "set", "token", "secret-token-value"));
        Assert.Equal(0, await cli.RunAsync("config", "set", "github_user", "octocat"));
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

        await cli.RunAsync("config", "set", "github_user", "octocat");

        Assert.True(File.Exists(Path.Combine(cli.TempDir, "xdg", "gpu-dev", "config.json")));
    }
}

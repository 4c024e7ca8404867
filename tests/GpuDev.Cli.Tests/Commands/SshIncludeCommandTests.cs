using System.Text;

namespace GpuDev.Cli.Tests.Commands;

public sealed class SshIncludeCommandTests
{
    private const string Line = "Include ~/.gpu-dev/*-sshconfig";
    private const UnixFileMode Mode0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Mode0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    private static string SshConfig(CliHarness cli) => Path.Combine(cli.Home, ".ssh", "config");

    private static string CursorConfig(CliHarness cli) => Path.Combine(cli.Home, ".cursor", "ssh_config");

    [Fact]
    public async Task Enable_NoFiles_CreatesBothPrivate()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("config", "ssh-include", "enable");

        Assert.Equal(0, exit);
        foreach (var file in new[] { SshConfig(cli), CursorConfig(cli) })
        {
            Assert.Equal(Line + "\n", File.ReadAllText(file));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(Mode0600, File.GetUnixFileMode(file));
                Assert.Equal(Mode0700, File.GetUnixFileMode(Path.GetDirectoryName(file)!));
            }
        }

        Assert.Contains($"~/.ssh/config: created with `{Line}`", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains($"~/.cursor/ssh_config: created with `{Line}`", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Fact]
    public async Task Enable_ExistingFile_AddsLineAtTopKeepsOtherBytesAndMode()
    {
        using var cli = new CliHarness();
        var original = "Host work\n    HostName work.example.com\n\tUser me   \n# no trailing newline";
        Directory.CreateDirectory(Path.GetDirectoryName(SshConfig(cli))!);
        File.WriteAllText(SshConfig(cli), original);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(SshConfig(cli), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        }

        var exit = await cli.RunAsync("config", "ssh-include", "enable");

        Assert.Equal(0, exit);
        Assert.Equal(Line + "\n" + original, File.ReadAllText(SshConfig(cli)));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(SshConfig(cli)));
        }

        Assert.Contains($"~/.ssh/config: added `{Line}` at the top", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enable_Twice_SecondChangesNothing()
    {
        using var cli = new CliHarness();
        Assert.Equal(0, await cli.RunAsync("config", "ssh-include", "enable"));
        var before = File.ReadAllBytes(SshConfig(cli));
        var cursorBefore = File.ReadAllBytes(CursorConfig(cli));

        var exit = await RunWithHome(cli, "config", "ssh-include", "enable");

        Assert.Equal(0, exit);
        Assert.Equal(before, File.ReadAllBytes(SshConfig(cli)));
        Assert.Equal(cursorBefore, File.ReadAllBytes(CursorConfig(cli)));
        Assert.Contains("~/.ssh/config: already includes it (unchanged)", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host a\n  User x\n")]
    [InlineData("Host a\r\n  User x\r\n")]
    [InlineData("Host a\n  User x")]
    [InlineData("")]
    [InlineData("\u00EF\u00BB\u00BFHost bom\n\u00E9\u00FF raw bytes\n")]
    public async Task EnableThenDisable_RestoresExactBytes(string latin1)
    {
        using var cli = new CliHarness();
        var original = Encoding.Latin1.GetBytes(latin1);
        Directory.CreateDirectory(Path.GetDirectoryName(SshConfig(cli))!);
        File.WriteAllBytes(SshConfig(cli), original);

        Assert.Equal(0, await cli.RunAsync("config", "ssh-include", "enable"));
        var enabled = Encoding.Latin1.GetString(File.ReadAllBytes(SshConfig(cli)));
        Assert.Equal(1, CountLines(enabled));
        Assert.Contains(Line, enabled.Split('\n')[0].TrimStart('\u00EF', '\u00BB', '\u00BF'), StringComparison.Ordinal);
        Assert.Equal(0, await cli.RunAsync("config", "ssh-include", "disable"));

        Assert.Equal(original, File.ReadAllBytes(SshConfig(cli)));
        Assert.Contains($"~/.ssh/config: removed `{Line}`", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disable_LineInMiddle_RemovesOnlyThatLine()
    {
        using var cli = new CliHarness();
        Directory.CreateDirectory(Path.GetDirectoryName(SshConfig(cli))!);
        File.WriteAllText(SshConfig(cli), $"# mine\n{Line}\nInclude ~/.other/*\nHost *\n  ServerAliveInterval 30\n");

        var exit = await cli.RunAsync("config", "ssh-include", "disable");

        Assert.Equal(0, exit);
        Assert.Equal("# mine\nInclude ~/.other/*\nHost *\n  ServerAliveInterval 30\n", File.ReadAllText(SshConfig(cli)));
        Assert.Contains("~/.cursor/ssh_config: does not exist (unchanged)", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Disable_NoLine_FileUnchanged()
    {
        using var cli = new CliHarness();
        Directory.CreateDirectory(Path.GetDirectoryName(SshConfig(cli))!);
        File.WriteAllText(SshConfig(cli), "Host a\n");
        var written = File.GetLastWriteTimeUtc(SshConfig(cli));

        var exit = await cli.RunAsync("config", "ssh-include", "disable");

        Assert.Equal(0, exit);
        Assert.Equal("Host a\n", File.ReadAllText(SshConfig(cli)));
        Assert.Equal(written, File.GetLastWriteTimeUtc(SshConfig(cli)));
        Assert.Contains("~/.ssh/config: has no gpu-dev Include (unchanged)", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enable_GpuDevHomeOverride_IncludesThatDirectory()
    {
        using var cli = new CliHarness();
        var dir = Path.Combine(cli.TempDir, "elsewhere");
        cli.Environment.Variables[EnvVars.GpuDevHome] = dir;

        var exit = await cli.RunAsync("config", "ssh-include", "enable");

        Assert.Equal(0, exit);
        Assert.Equal($"Include {dir}/*-sshconfig\n", File.ReadAllText(SshConfig(cli)));
    }

    private static int CountLines(string text) =>
        text.Split('\n').Count(l => l.Trim().TrimStart('\u00EF', '\u00BB', '\u00BF') == Line);

    /// <summary>Runs again in the same harness (same HOME), after clearing the captured stderr.</summary>
    private static Task<int> RunWithHome(CliHarness cli, params string[] args)
    {
        cli.Console.Error.Flush();
        ((StringWriter)cli.Console.Error).GetStringBuilder().Clear();
        return cli.RunAsync(args);
    }
}

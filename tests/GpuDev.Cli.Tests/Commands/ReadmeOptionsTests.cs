using System.CommandLine;
using System.Text.RegularExpressions;

namespace GpuDev.Cli.Tests.Commands;

/// <summary>README and the CLI agree on options: every option the CLI has is documented in README, and every option the
/// "Using gpu-dev" section names exists (the other sections also document gpu-dev-server's own options).</summary>
public sealed partial class ReadmeOptionsTests
{
    /// <summary>Mentioned in the section but belonging to other programs: gpu-dev-server (`user add NAME --ssh-key FILE`)
    /// and the AWS CLI (`aws sso login --profile NAME`, before `gpu-dev login --aws`).</summary>
    private static readonly string[] s_otherProgramsOptions = ["--ssh-key", "--profile"];

    [Fact]
    public void ReadmeAndCli_NameTheSameOptions()
    {
        using var cli = new CliHarness();
        var root = CliApp.BuildRoot(new CliServices { Console = cli.Console, Environment = cli.Environment });
        var cliOptions = Commands(root).SelectMany(c => c.Options).Where(o => !o.Hidden)
            .SelectMany(o => o.Aliases.Prepend(o.Name)).Where(n => n.StartsWith("--", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        var readme = File.ReadAllText(Path.Combine(RepoRoot(), "README.md"));
        var anywhere = OptionPattern().Matches(readme).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
        var inUsage = OptionPattern().Matches(Section(readme)).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);

        var undocumented = cliOptions.Where(o => !anywhere.Contains(o) && o is not ("--help" or "--version")).Order().ToList();
        var unknown = inUsage.Where(o => !cliOptions.Contains(o) && !s_otherProgramsOptions.Contains(o)).Order().ToList();

        Assert.True(undocumented.Count == 0, "CLI options missing from README: " + string.Join(", ", undocumented));
        Assert.True(unknown.Count == 0, "README's \"Using gpu-dev\" names options the CLI does not have: " + string.Join(", ", unknown));
    }

    private static string Section(string readme)
    {
        var start = readme.IndexOf("## Using gpu-dev", StringComparison.Ordinal);
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "README has no \"## Using gpu-dev\" section");
        return readme[start..end];
    }

    private static IEnumerable<Command> Commands(Command command) => command.Subcommands.SelectMany(Commands).Prepend(command);

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "README.md")) && File.Exists(Path.Combine(dir.FullName, "gpu-dev.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the repository root (README.md next to gpu-dev.slnx) was not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"(?<![\w-])--[a-z][a-z0-9-]*")]
    private static partial Regex OptionPattern();
}

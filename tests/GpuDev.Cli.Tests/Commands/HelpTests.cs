using System.CommandLine;
using GpuDev.Cli.Commands;

namespace GpuDev.Cli.Tests.Commands;

public sealed class HelpTests
{
    [Fact]
    public async Task Help_Option_PrintsUsageAndExamples()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("reserve", "--help");

        Assert.Equal(0, exit);
        Assert.Contains("-h, --hours", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("-?, --help", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("Examples:", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Empty(cli.Http.Requests);
    }

    [Theory]
    [InlineData("disk", "create")]
    [InlineData("config", "ssh-include")]
    [InlineData("admin", "audit")]
    [InlineData("token", "revoke")]
    [InlineData("keys", "remove")]
    public async Task CommandGroupAlone_PrintsItsHelp(string group, string subcommand)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync(group);

        Assert.Equal(0, exit);
        Assert.Contains("Usage:", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains(subcommand, cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Empty(cli.Console.StdErr);
    }

    [Fact]
    public async Task RootHelp_OptionalArgumentsInBrackets_DescriptionsAligned()
    {
        using var cli = new CliHarness();

        Assert.Equal(0, await cli.RunAsync("--help"));

        var lines = cli.Console.StdOut.Split('\n');
        var commands = lines.SkipWhile(l => l != "Commands:").Skip(1).TakeWhile(l => l.Length > 0).ToList();
        Assert.Contains(commands, l => l.StartsWith("  show [<RESERVATION_ID>] ", StringComparison.Ordinal));
        Assert.Contains(commands, l => l.StartsWith("  connect [<RESERVATION_ID>] [<COMMAND>] ", StringComparison.Ordinal));
        Assert.DoesNotContain(commands, l => l.Contains(" <RESERVATION_ID> ", StringComparison.Ordinal));
        var column = commands[0].IndexOf("Create a GPU reservation", StringComparison.Ordinal);
        Assert.True(column > 0, commands[0]);
        Assert.All(commands.Where(l => !l.StartsWith("   ", StringComparison.Ordinal)), l =>
        {
            Assert.Equal(' ', l[column - 1]);
            Assert.NotEqual(' ', l[column]);
        });
    }

    [Fact]
    public async Task ExitCodes_DocumentsOnlyCodesTheCliReturns()
    {
        using var cli = new CliHarness();

        await cli.RunAsync("help", "exit-codes");

        Assert.DoesNotContain("  8  ", cli.Console.StdOut, StringComparison.Ordinal);
        Assert.Contains("  2  cancelled", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_QuestionMarkAndHelpCommand_PrintSameHelp()
    {
        using var a = new CliHarness();
        using var b = new CliHarness();

        Assert.Equal(0, await a.RunAsync("list", "-?"));
        Assert.Equal(0, await b.RunAsync("help", "list"));

        Assert.Equal(a.Console.StdOut, b.Console.StdOut);
        Assert.Contains("--watch", a.Console.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("exit-codes", "4  not authenticated")]
    [InlineData("environment", "GPU_DEV_TOKEN")]
    [InlineData("gpu-hours", "booked     GPUs × its booked term")]
    public async Task Help_Topic_PrintsTopic(string topic, string expected)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("help", topic);

        Assert.Equal(0, exit);
        Assert.Contains(expected, cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_UnknownTopic_Error()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("help", "nope");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: unknown help topic", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Root_NoArguments_PrintsHelp()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync();

        Assert.Equal(0, exit);
        Assert.Contains("reserve", cli.Console.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_PrintsInformationalVersion()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("--version");

        Assert.Equal(0, exit);
        Assert.Equal(CliInfo.Version, cli.Console.StdOut.Trim());
    }

    [Fact]
    public async Task Parse_UnknownOption_ErrorAndUsageHintExit1()
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync("list", "--bogus");

        Assert.Equal(1, exit);
        Assert.StartsWith("error: ", cli.Console.StdErr, StringComparison.Ordinal);
        Assert.Contains("hint: run `gpu-dev list --help`", cli.Console.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Examples_EveryCommand_HasDescriptionAndExamplesThatParse()
    {
        using var cli = new CliHarness();
        var services = new CliServices { Console = cli.Console, Environment = cli.Environment };
        var root = CliApp.BuildRoot(services);

        var commands = All(root).OfType<CliCommand>().ToList();

        Assert.NotEmpty(commands);
        foreach (var command in commands)
        {
            Assert.False(string.IsNullOrWhiteSpace(command.Description), command.Name);
            foreach (var example in command.Examples)
            {
                var line = example.Split('#')[0].Trim();
                Assert.StartsWith("gpu-dev ", line, StringComparison.Ordinal);
                var result = root.Parse(line["gpu-dev ".Length..]);
                Assert.True(result.Errors.Count == 0, $"{example}: {string.Join("; ", result.Errors.Select(e => e.Message))}");
                Assert.Same(command, result.CommandResult.Command);
            }
        }

        Assert.All(commands.Where(c => c is not NotSupportedCommand), c => Assert.NotEmpty(c.Examples));
    }

    private static IEnumerable<Command> All(Command command) => new[] { command }.Concat(command.Subcommands.SelectMany(All));
}

using System.CommandLine;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev help [COMMAND...]</c>, plus the topics <c>exit-codes</c>, <c>environment</c> and <c>gpu-hours</c>.</summary>
internal sealed class HelpCommand : CliCommand
{
    private readonly RootCommand _root;
    private readonly Argument<string[]> _topic = new("COMMAND") { Arity = ArgumentArity.ZeroOrMore, Description = "A command (e.g. `reserve`, `config set`) or a topic: exit-codes, environment, gpu-hours" };

    public HelpCommand(CliServices services, RootCommand root)
        : base(services, "help", "Show help for gpu-dev, a command, or a topic (exit-codes, environment, gpu-hours).")
    {
        _root = root;
        Arguments.Add(_topic);
        Examples.Add("gpu-dev help reserve");
        Examples.Add("gpu-dev help exit-codes");
        Examples.Add("gpu-dev help environment");
        Examples.Add("gpu-dev help gpu-hours");
    }

    public override Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var words = parseResult.GetValue(_topic) ?? [];
        if (words.Length == 1 && HelpTopics.All.TryGetValue(words[0], out var text))
        {
            Services.Console.Out.WriteLine(text);
            return Task.FromResult(ExitCodes.Success);
        }

        var helpParse = _root.Parse([.. words, "--help"]);
        if (words.Length > 0 && (helpParse.CommandResult.Command == _root || helpParse.UnmatchedTokens.Count > 0 || helpParse.CommandResult.Tokens.Count > 0))
        {
            throw CliException.Usage($"unknown help topic \"{string.Join(' ', words)}\"; topics: {string.Join(", ", HelpTopics.All.Keys)}",
                "run `gpu-dev --help` to list the commands");
        }

        return Task.FromResult(helpParse.Invoke(parseResult.InvocationConfiguration));
    }
}

using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using GpuDev.Cli.Commands;

namespace GpuDev.Cli;

/// <summary>Builds the command tree and runs one command line.</summary>
internal static class CliApp
{
    public static RootCommand BuildRoot(CliServices services)
    {
        var root = new RootCommand("gpu-dev: reserve GPU development machines and connect to them.");

        // -h is --hours in `reserve`, so help is --help / -? only (and `gpu-dev help [COMMAND]`).
        for (var i = root.Options.Count - 1; i >= 0; i--)
        {
            if (root.Options[i] is HelpOption)
            {
                root.Options.RemoveAt(i);
            }
        }

        root.Options.Add(Utc);
        var help = new HelpOption("--help", "-?");
        help.Action = new ExamplesHelpAction((HelpAction)help.Action!);
        root.Options.Add(help);
        foreach (var version in root.Options.OfType<VersionOption>())
        {
            version.Action = new VersionAction();
        }

        root.Subcommands.Add(new ReserveCommand(services));
        root.Subcommands.Add(new ListCommand(services));
        root.Subcommands.Add(new ShowCommand(services));
        root.Subcommands.Add(new ConnectCommand(services));
        root.Subcommands.Add(new CancelCommand(services));
        root.Subcommands.Add(new EditCommand(services));
        root.Subcommands.Add(new AvailCommand(services));
        root.Subcommands.Add(new StatusCommand(services));
        root.Subcommands.Add(DiskCommands.Build(services));
        root.Subcommands.Add(AdminCommands.Build(services));
        root.Subcommands.Add(BuildConfig(services));
        root.Subcommands.Add(new HelpCommand(services, root));

        root.SetAction(parseResult => root.Parse(["--help"]).Invoke(parseResult.InvocationConfiguration));
        ShowHelpWithoutSubcommand(root);
        return root;
    }

    /// <summary><c>--utc</c> (any command): times a person reads are shown in UTC instead of the local zone. JSON is always UTC.</summary>
    private static readonly Option<bool> Utc = new("--utc") { Description = "Show times in UTC instead of your local time zone (JSON is always UTC)", Recursive = true };

    /// <summary>A command group typed alone (<c>gpu-dev disk</c>, <c>gpu-dev config</c>) prints its help, not "Required command
    /// was not provided".</summary>
    private static void ShowHelpWithoutSubcommand(Command command)
    {
        foreach (var sub in command.Subcommands)
        {
            if (sub.Subcommands.Count > 0 && sub.Action is null)
            {
                sub.SetAction(parseResult => new ExamplesHelpAction(new HelpAction()).Invoke(parseResult));
            }

            ShowHelpWithoutSubcommand(sub);
        }
    }

    public static async Task<int> RunAsync(string[] args, CliServices services, CancellationToken cancellationToken)
    {
        var root = BuildRoot(services);
        // No response files: an argument starting with '@' (`--add-user @octocat`, `config set github_user @octocat`) is a value.
        var parseResult = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        Output.Format.Zone = parseResult.GetValue(Utc) ? TimeZoneInfo.Utc : services.Time.LocalTimeZone;
        if (parseResult.Action is ParseErrorAction)
        {
            var messages = parseResult.Errors.Select(e => e.Message).Distinct().ToList();
            var path = CommandPath(parseResult.CommandResult.Command);
            CommandRunner.WriteError(services, messages, $"run `{path} --help` for usage");
            return ExitCodes.Failure;
        }

        var configuration = new InvocationConfiguration
        {
            Output = services.Console.Out,
            Error = services.Console.Error,
            EnableDefaultExceptionHandler = false,
            ProcessTerminationTimeout = null,
        };

        try
        {
            return await parseResult.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            CommandRunner.WriteError(services, [ex.Message], null, ex);
            return ExitCodes.Failure;
        }
    }

    internal static string CommandPath(Command command)
    {
        var names = new List<string>();
        for (Symbol? s = command; s is Command c; s = c.Parents.FirstOrDefault())
        {
            names.Insert(0, c is RootCommand ? "gpu-dev" : c.Name);
        }

        return string.Join(' ', names);
    }

    private static Command BuildConfig(CliServices services)
    {
        var config = new Command("config", "View and change the CLI configuration.");
        config.Subcommands.Add(new ConfigSetCommand(services));
        config.Subcommands.Add(new ConfigShowCommand(services));
        config.Subcommands.Add(ConfigSshIncludeCommand.BuildParent(services));
        return config;
    }

    /// <summary>Prints the CLI assembly's informational version (not the entry assembly's, which differs under test).</summary>
    private sealed class VersionAction : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(CliInfo.Version);
            return ExitCodes.Success;
        }
    }

    /// <summary>The default help, followed by the command's examples.</summary>
    private sealed class ExamplesHelpAction(HelpAction inner) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            var result = inner.Invoke(parseResult);
            if (parseResult.CommandResult.Command is CliCommand { Examples.Count: > 0 } command)
            {
                var output = parseResult.InvocationConfiguration.Output;
                output.WriteLine("Examples:");
                foreach (var example in command.Examples)
                {
                    output.WriteLine($"  {example}");
                }

                output.WriteLine();
            }

            return result;
        }
    }
}

using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using GpuDev.Cli.Commands;
using GpuDev.Cli.Commands.Disk;
using GpuDev.Cli.Commands.Keys;
using GpuDev.Cli.Commands.Reserve;
using GpuDev.Cli.Commands.Token;

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
        root.Subcommands.Add(new UsageCommand(services));
        root.Subcommands.Add(DiskCommands.Build(services));
        root.Subcommands.Add(new LoginCommand(services));
        root.Subcommands.Add(new LogoutCommand(services));
        root.Subcommands.Add(TokenCommands.Build(services));
        root.Subcommands.Add(KeysCommands.Build(services));
        root.Subcommands.Add(AdminCommands.Build(services));
        root.Subcommands.Add(BuildConfig(services));
        root.Subcommands.Add(new HelpCommand(services, root));

        root.SetAction(parseResult => root.Parse(["--help"]).Invoke(parseResult.InvocationConfiguration));
        ShowHelpWithoutSubcommand(root, (ExamplesHelpAction)help.Action!);
        return root;
    }

    /// <summary><c>--utc</c> (any command): times a person reads are shown in UTC instead of the local zone. JSON is always UTC.</summary>
    private static readonly Option<bool> Utc = new("--utc") { Description = "Show times in UTC instead of your local time zone (JSON is always UTC)", Recursive = true };

    /// <summary>A command group typed alone (<c>gpu-dev disk</c>, <c>gpu-dev config</c>) prints its help, not "Required command
    /// was not provided".</summary>
    private static void ShowHelpWithoutSubcommand(Command command, ExamplesHelpAction help)
    {
        foreach (var sub in command.Subcommands)
        {
            if (sub.Subcommands.Count > 0 && sub.Action is null)
            {
                sub.SetAction(help.Invoke);
            }

            ShowHelpWithoutSubcommand(sub, help);
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

    /// <summary>In the "Commands:" list the default help writes every argument as <c>&lt;X&gt;</c>, as if required; an optional
    /// one reads <c>[&lt;X&gt;]</c> here, as in the usage line, with the descriptions' column kept aligned.</summary>
    internal static string MarkOptionalArguments(string help, Command command)
    {
        var lines = help.Split('\n');
        var start = Array.FindIndex(lines, l => l.TrimEnd('\r') == "Commands:");
        if (start < 0)
        {
            return help;
        }

        var end = start + 1;
        while (end < lines.Length && lines[end].TrimEnd('\r').Length > 0)
        {
            end++;
        }

        var rows = new List<(string Label, string Text, bool Continuation)>();
        var oldWidth = 0;
        for (var i = start + 1; i < end; i++)
        {
            var line = lines[i].TrimEnd('\r');
            var gap = line.IndexOf("  ", 2, StringComparison.Ordinal);
            if (!line.StartsWith("  ", StringComparison.Ordinal) || line.StartsWith("   ", StringComparison.Ordinal) || gap < 0)
            {
                rows.Add(("", line.TrimStart(), true));
                continue;
            }

            var label = line[2..gap];
            var rest = line[gap..].TrimStart();
            oldWidth = Math.Max(oldWidth, line.Length - rest.Length);
            var name = label.Split([',', ' '], 2)[0];
            if (command.Subcommands.FirstOrDefault(c => c.Name == name) is { } sub)
            {
                foreach (var argument in sub.Arguments.Where(a => a.Arity.MinimumNumberOfValues == 0))
                {
                    var shown = $"<{argument.HelpName ?? argument.Name}>";
                    label = label.Replace(" " + shown, $" [{shown}]", StringComparison.Ordinal);
                }
            }

            rows.Add((label, rest, false));
        }

        var width = rows.Where(r => !r.Continuation).Select(r => r.Label.Length + 4).DefaultIfEmpty(oldWidth).Max();
        for (var i = 0; i < rows.Count; i++)
        {
            var (label, rest, continuation) = rows[i];
            lines[start + 1 + i] = continuation ? new string(' ', width) + rest : ("  " + label).PadRight(width) + rest;
        }

        return string.Join('\n', lines);
    }

    /// <summary>The default help, followed by the command's examples.</summary>
    private sealed class ExamplesHelpAction(HelpAction inner) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;


        public override int Invoke(ParseResult parseResult)
        {
            var output = parseResult.InvocationConfiguration.Output;
            var captured = new StringWriter();
            parseResult.InvocationConfiguration.Output = captured;
            int result;
            try
            {
                result = inner.Invoke(parseResult);
            }
            finally
            {
                parseResult.InvocationConfiguration.Output = output;
            }

            output.Write(MarkOptionalArguments(captured.ToString(), parseResult.CommandResult.Command));
            if (parseResult.CommandResult.Command is CliCommand { Details: { } details })
            {
                output.WriteLine(details);
                output.WriteLine();
            }

            if (parseResult.CommandResult.Command is CliCommand { Examples.Count: > 0 } command)
            {
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

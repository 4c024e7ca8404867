using System.CommandLine;

namespace GpuDev.Cli.Commands;

/// <summary>Base of every leaf command: one description, examples for help, and one ExecuteAsync returning an exit code.</summary>
internal abstract class CliCommand : Command
{
    protected CliCommand(CliServices services, string name, string description)
        : base(name, description)
    {
        Services = services;
        SetAction((parseResult, ct) => CommandRunner.RunAsync(services, ct, token => ExecuteAsync(parseResult, token)));
    }

    /// <summary>Example command lines shown under "Examples:" in help (validated by a test).</summary>
    public List<string> Examples { get; } = [];

    /// <summary>Text shown in help before the examples, for a command whose output needs its terms explained.</summary>
    public string? Details { get; protected init; }

    protected CliServices Services { get; }

    public abstract Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken);
}

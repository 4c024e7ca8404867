using System.CommandLine;

namespace GpuDev.Cli.Commands;

/// <summary>A seed command that exists in the parser (with its options) but is not built yet: exits 1 with one line.</summary>
internal sealed class NotSupportedCommand : CliCommand
{
    private readonly string _displayName;

    public NotSupportedCommand(CliServices services, string name, string description, IEnumerable<Argument> arguments, IEnumerable<Option> options, string? displayName = null)
        : base(services, name, description)
    {
        _displayName = displayName ?? name;
        foreach (var argument in arguments)
        {
            Arguments.Add(argument);
        }

        foreach (var option in options)
        {
            Options.Add(option);
        }
    }

    public override Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken) =>
        throw CliException.NotSupported($"gpu-dev {_displayName}");
}

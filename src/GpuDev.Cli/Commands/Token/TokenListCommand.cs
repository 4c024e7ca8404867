using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands.Token;

/// <summary><c>gpu-dev token list [--json]</c>.</summary>
internal sealed class TokenListCommand : CliCommand
{
    private readonly Option<bool> _json = CommonOptions.Json();

    public TokenListCommand(CliServices services)
        : base(services, "list", "List your tokens: name, kind, created, expires and status; * marks the one this CLI uses.")
    {
        Aliases.Add("ls");
        Options.Add(_json);
        Examples.Add("gpu-dev token list");
        Examples.Add("gpu-dev token list --json");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var tokens = await Services.CreateClient().ListTokensAsync(cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, tokens);
        }
        else
        {
            TokenTable.Write(Services.Console, tokens, Services.Time.GetUtcNow());
        }

        return ExitCodes.Success;
    }
}

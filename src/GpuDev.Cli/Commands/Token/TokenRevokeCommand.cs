using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands.Token;

/// <summary><c>gpu-dev token revoke ID [--json]</c>: the token stops working at once.</summary>
internal sealed class TokenRevokeCommand : CliCommand
{
    public const int MinPrefix = 4;

    private readonly Argument<string> _id = new("TOKEN_ID") { Description = $"The token's ID or a unique prefix of it (at least {MinPrefix} characters; `gpu-dev token list` shows them)" };
    private readonly Option<bool> _json = CommonOptions.Json();

    public TokenRevokeCommand(CliServices services)
        : base(services, "revoke", "Revoke one of your tokens: it stops working at once.")
    {
        Arguments.Add(_id);
        Options.Add(_json);
        Examples.Add("gpu-dev token revoke 3f2a9c1e");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var id = parseResult.GetRequiredValue(_id).Trim();
        if (id.Length < MinPrefix || !id.All(char.IsAsciiLetterOrDigit))
        {
            throw CliException.Usage($"TOKEN_ID must be at least {MinPrefix} letters or digits of a token's ID, as `gpu-dev token list` shows them; got \"{id}\"");
        }

        var token = await Services.CreateClient().RevokeTokenAsync(id, cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, token);
            return ExitCodes.Success;
        }

        Services.Console.Out.WriteLine($"Revoked token '{token.Name}' ({Format.ShortId(token.Id)})");
        if (token.Current)
        {
            Services.Console.Error.WriteLine("That was the token this CLI uses: sign in again with `gpu-dev login` (or set another with `gpu-dev config set token TOKEN`).");
        }

        return ExitCodes.Success;
    }
}

using System.CommandLine;

namespace GpuDev.Cli.Commands.Token;

/// <summary>Builds <c>gpu-dev token</c> and its subcommands: your own API tokens.</summary>
internal static class TokenCommands
{
    public static Command Build(CliServices services)
    {
        var token = new Command("token", "Manage your API tokens (for scripts, CI or other machines).");
        token.Subcommands.Add(new TokenListCommand(services));
        token.Subcommands.Add(new TokenCreateCommand(services));
        token.Subcommands.Add(new TokenRevokeCommand(services));
        return token;
    }
}

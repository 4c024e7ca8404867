using System.CommandLine;

namespace GpuDev.Cli.Commands.Keys;

/// <summary>Builds <c>gpu-dev keys</c> and its subcommands: the SSH public keys let into your reservations.</summary>
internal static class KeysCommands
{
    public static Command Build(CliServices services)
    {
        var keys = new Command("keys", "Manage the SSH public keys let into your reservations (changes reach active ones at once).");
        keys.Subcommands.Add(new KeysListCommand(services));
        keys.Subcommands.Add(new KeysAddCommand(services));
        keys.Subcommands.Add(new KeysRemoveCommand(services));
        return keys;
    }

    /// <summary>"reached 2 active reservations (3f2a9c1e, 77aa0b12)" or "no active reservation to update".</summary>
    public static string Reached(IReadOnlyList<string> reservations) => reservations.Count switch
    {
        0 => "no active reservation needed the change",
        1 => $"1 active reservation got the change ({Output.Format.ShortId(reservations[0])})",
        _ => $"{reservations.Count} active reservations got the change ({string.Join(", ", reservations.Select(Output.Format.ShortId))})",
    };
}

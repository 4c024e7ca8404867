using System.CommandLine;
using GpuDev.Cli.Output;
using Spectre.Console;

namespace GpuDev.Cli.Commands.Keys;

/// <summary><c>gpu-dev keys list [--json]</c>.</summary>
internal sealed class KeysListCommand : CliCommand
{
    private readonly Option<bool> _json = CommonOptions.Json();

    public KeysListCommand(CliServices services)
        : base(services, "list", "List your registered SSH public keys: fingerprint, type and comment.")
    {
        Aliases.Add("ls");
        Options.Add(_json);
        Examples.Add("gpu-dev keys list");
        Examples.Add("gpu-dev keys list --json");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var keys = await Services.CreateClient().ListKeysAsync(cancellationToken).ConfigureAwait(false);
        var console = Services.Console;
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(console.Out, keys);
            return ExitCodes.Success;
        }

        if (!console.IsOutputTty)
        {
            foreach (var k in keys)
            {
                console.Out.WriteLine(string.Join('\t', k.Fingerprint, k.Type, Clean(k.Comment)));
            }

            return ExitCodes.Success;
        }

        if (keys.Count == 0)
        {
            console.Error.WriteLine("No SSH keys registered; add one with `gpu-dev keys add ~/.ssh/id_ed25519.pub`");
            return ExitCodes.Success;
        }

        var table = new Table().NoBorder().HideRowSeparators();
        table.AddColumns("FINGERPRINT", "TYPE", "COMMENT");
        foreach (var column in table.Columns)
        {
            column.PadLeft(0).PadRight(2);
        }

        foreach (var k in keys)
        {
            table.AddRow(Markup.Escape(k.Fingerprint), Markup.Escape(k.Type), k.Comment is { Length: > 0 } c ? Markup.Escape(Clean(c)) : "[grey]-[/]");
        }

        console.OutConsole.Write(table);
        return ExitCodes.Success;
    }

    private static string Clean(string? s) => s is null ? string.Empty : new string([.. s.Select(c => char.IsControl(c) ? ' ' : c)]);
}

using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands.Keys;

/// <summary><c>gpu-dev keys add FILE [--json]</c>: registers an OpenSSH public key (a <c>.pub</c> file, or stdin with <c>-</c>).</summary>
internal sealed class KeysAddCommand : CliCommand
{
    /// <summary>A public key line is at most a few KB (RSA 16384: about 2.8 KB); anything much larger is the wrong file.</summary>
    public const int MaxBytes = 16 * 1024;

    private readonly Argument<string> _file = new("FILE") { Description = "The public key file (e.g. ~/.ssh/id_ed25519.pub), or - to read the key line from stdin" };
    private readonly Option<bool> _json = CommonOptions.Json();

    public KeysAddCommand(CliServices services)
        : base(services, "add", "Register an SSH public key; your active reservations get it at once.")
    {
        Arguments.Add(_file);
        Options.Add(_json);
        Examples.Add("gpu-dev keys add ~/.ssh/id_ed25519.pub");
        Examples.Add("gpu-dev keys add -");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var file = parseResult.GetRequiredValue(_file);
        var key = ReadKey(file);
        var change = await Services.CreateClient().AddKeyAsync(key, cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, change);
            return ExitCodes.Success;
        }

        var comment = change.Key.Comment is { Length: > 0 } c ? $", {c}" : string.Empty;
        Services.Console.Out.WriteLine($"Added key {change.Key.Fingerprint} ({change.Key.Type}{comment}); {KeysCommands.Reached(change.UpdatedReservations)}");
        return ExitCodes.Success;
    }

    /// <summary>The one key line of <paramref name="file"/>, refusing before any request what cannot be a public key.</summary>
    private string ReadKey(string file)
    {
        var source = file == "-" ? "stdin" : file;
        string text;
        if (file == "-")
        {
            if (Services.Console.IsInputTty)
            {
                Services.Console.Error.WriteLine("Paste the public key line, then press Ctrl+D:");
            }

            text = Services.StandardInput().ReadToEnd();
        }
        else
        {
            if (Directory.Exists(file))
            {
                throw CliException.Usage($"{file} is a directory; give a public key file such as ~/.ssh/id_ed25519.pub");
            }

            if (!File.Exists(file))
            {
                throw CliException.Usage($"no such file: {file}", "make a key with `ssh-keygen -t ed25519` and give its .pub file (~/.ssh/id_ed25519.pub)");
            }

            if (new FileInfo(file).Length > MaxBytes)
            {
                throw CliException.Usage($"{file} is larger than {MaxBytes / 1024} KB: not an OpenSSH public key file (one line such as \"ssh-ed25519 AAAA... you@host\")");
            }

            text = File.ReadAllText(file);
        }

        if (text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            var pub = file == "-" ? "its .pub file" : $"{file}.pub";
            throw CliException.Usage($"{source} holds a private key; never send it anywhere. Give the public key instead ({pub})");
        }

        var lines = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        return lines.Count switch
        {
            0 => throw CliException.Usage($"{source} is empty; give an OpenSSH public key line such as \"ssh-ed25519 AAAA... you@host\""),
            1 => lines[0],
            _ => throw CliException.Usage($"{source} has {lines.Count} lines; give one public key per `gpu-dev keys add`"),
        };
    }
}

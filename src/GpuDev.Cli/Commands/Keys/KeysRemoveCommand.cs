using System.CommandLine;
using System.Text.RegularExpressions;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands.Keys;

/// <summary><c>gpu-dev keys remove FINGERPRINT [--json]</c>: the key no longer gets into your reservations.</summary>
internal sealed partial class KeysRemoveCommand : CliCommand
{
    private const string Prefix = "SHA256:";

    private readonly Argument<string> _fingerprint = new("FINGERPRINT") { Description = "The key's SHA256 fingerprint as `gpu-dev keys list` shows it (the SHA256: prefix may be left out)" };
    private readonly Option<bool> _json = CommonOptions.Json();

    public KeysRemoveCommand(CliServices services)
        : base(services, "remove", "Remove a registered SSH key; your active reservations stop accepting it at once.")
    {
        Aliases.Add("rm");
        Arguments.Add(_fingerprint);
        Options.Add(_json);
        Examples.Add("gpu-dev keys remove SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s");
        Examples.Add("gpu-dev keys remove uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var fingerprint = Normalize(parseResult.GetRequiredValue(_fingerprint))
            ?? throw CliException.Usage($"FINGERPRINT must be SHA256: and 43 base64 characters, as `gpu-dev keys list` shows it; got \"{parseResult.GetRequiredValue(_fingerprint)}\"");
        var change = await Services.CreateClient().RemoveKeyAsync(fingerprint, cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, change);
            return ExitCodes.Success;
        }

        Services.Console.Out.WriteLine($"Removed key {change.Key.Fingerprint} ({change.Key.Type}); {KeysCommands.Reached(change.UpdatedReservations)}");
        return ExitCodes.Success;
    }

    /// <summary>"SHA256:" + the 43 unpadded base64 characters of OpenSSH's fingerprint, with or without the prefix; null otherwise.</summary>
    internal static string? Normalize(string text)
    {
        var body = text.Trim();
        if (body.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            body = body[Prefix.Length..];
        }

        return Base64Fingerprint().IsMatch(body) ? Prefix + body : null;
    }

    [GeneratedRegex("^[A-Za-z0-9+/]{43}\\z")]
    private static partial Regex Base64Fingerprint();
}

using System.CommandLine;
using GpuDev.Cli.Config;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev logout</c>: revokes the token this CLI uses at the server, then removes it from the config file.
/// A token the server no longer accepts (401) or cannot be asked about (unreachable) is removed all the same.</summary>
internal sealed class LogoutCommand : CliCommand
{
    public LogoutCommand(CliServices services)
        : base(services, "logout", "Revoke the token this CLI uses and remove it from the config file.")
    {
        Examples.Add("gpu-dev logout");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var store = Services.Config;
        var err = Services.Console.Error;
        var setting = store.Get(ConfigStore.TokenKey);
        if (string.IsNullOrWhiteSpace(setting.Value))
        {
            err.WriteLine("Not signed in: no token is configured; nothing to do.");
            return ExitCodes.Success;
        }

        var exit = ExitCodes.Success;
        try
        {
            var revoked = await Services.CreateClient().LogoutAsync(cancellationToken).ConfigureAwait(false);
            Services.Console.Out.WriteLine($"Revoked token '{revoked.Name}' ({Output.Format.ShortId(revoked.Id)}) at the server");
        }
        catch (CliException ex) when (ex.HttpStatus == 401)
        {
            // The server does not take the token any more (expired, revoked, disabled): nothing is left to revoke there.
            err.WriteLine($"note: the server no longer accepts this token ({ex.Message})");
        }
        catch (CliException ex) when (ex.Unreachable)
        {
            // The token may still work until it expires; the user learns that, and loses it locally as asked.
            err.WriteLine($"warning: {ex.Message}: the token was not revoked there and works until it expires (`gpu-dev token revoke ID` from another sign-in revokes it)");
            exit = ExitCodes.Failure;
        }

        RemoveLocally(setting, store);
        return exit;
    }

    private void RemoveLocally(ConfigValue setting, ConfigStore store)
    {
        var err = Services.Console.Error;
        var fileToken = store.GetFromFile(ConfigStore.TokenKey);
        if (fileToken is not null && (setting.Source == ConfigSource.File || string.Equals(fileToken.Trim(), setting.Value!.Trim(), StringComparison.Ordinal)))
        {
            store.Unset(ConfigStore.TokenKey);
            err.WriteLine($"Removed the token from {store.FilePath}");
        }

        if (setting.Source == ConfigSource.Environment)
        {
            err.WriteLine($"note: the token came from {EnvVars.Token}; unset it in your shell (gpu-dev cannot)");
        }
    }
}

using System.CommandLine;
using GpuDev.Cli.Config;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev config set KEY VALUE</c>.</summary>
internal sealed class ConfigSetCommand : CliCommand
{
    private readonly Argument<string> _key = new("KEY") { Description = $"One of: {string.Join(", ", ConfigStore.Keys)}" };
    private readonly Argument<string> _value = new("VALUE") { Description = "The new value" };

    public ConfigSetCommand(CliServices services)
        : base(services, "set", "Set a configuration value (server, token, github_user, insecure).")
    {
        Arguments.Add(_key);
        Arguments.Add(_value);
        Examples.Add("gpu-dev config set server http://127.0.0.1:8484");
        Examples.Add("gpu-dev config set token TOKEN");
        Examples.Add("gpu-dev config set github_user octocat");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var key = parseResult.GetRequiredValue(_key);
        var value = parseResult.GetRequiredValue(_value).Trim();
        if (!ConfigStore.Keys.Contains(key))
        {
            throw CliException.Usage($"unknown config key \"{key}\"; valid keys: {string.Join(", ", ConfigStore.Keys)}");
        }

        if (key == ConfigStore.ServerKey)
        {
            if (!Uri.TryCreate(value, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
            {
                throw CliException.Usage($"server must be an absolute http or https URL, e.g. http://127.0.0.1:8484; got \"{value}\"");
            }

            if (ConfigStore.ApiPathProblem(url) is { } apiPath)
            {
                throw CliException.Usage(apiPath);
            }
        }

        if (key == ConfigStore.GithubUserKey)
        {
            value = value.TrimStart('@');
            if (!EditCommand.IsGitHubLogin(value))
            {
                throw CliException.Usage($"github_user must be a GitHub login (letters, digits and single hyphens, at most 39 characters); got \"{value}\"");
            }
        }

        if (key == ConfigStore.InsecureKey && value is not ("true" or "false"))
        {
            throw CliException.Usage($"insecure must be true or false; got \"{value}\"");
        }

        if (value.Length == 0)
        {
            throw CliException.Usage($"{key} must not be empty");
        }

        // github_user works end to end: the server checks the login's keys and keeps it, then it is saved here (a refused
        // login is not). A token set later sends a saved github_user along; failing that is only a warning.
        var store = Services.Config;
        if (key == ConfigStore.GithubUserKey)
        {
            await SendGithubUserAsync(value, cancellationToken).ConfigureAwait(false);
        }

        store.Set(key, value);
        if (key == ConfigStore.TokenKey && store.Get(ConfigStore.GithubUserKey).Value is { Length: > 0 } login)
        {
            try
            {
                await SendGithubUserAsync(login, cancellationToken).ConfigureAwait(false);
            }
            catch (CliException e)
            {
                Services.Console.Error.WriteLine($"warning: github_user was not sent to the server: {e.Message}");
            }
        }

        var shown = key == ConfigStore.TokenKey ? ConfigShowCommand.Mask(value) : value;
        Services.Console.Error.WriteLine($"Set {key} to {shown} in {store.FilePath}");
        return ExitCodes.Success;
    }

    private async Task SendGithubUserAsync(string login, CancellationToken cancellationToken)
    {
        if (Services.Config.Get(ConfigStore.TokenKey).Value is not { Length: > 0 })
        {
            Services.Console.Error.WriteLine("note: no token yet; github_user is sent to the server when you set it (`gpu-dev config set token TOKEN`).");
            return;
        }

        await Services.CreateClient().SetGithubUserAsync(login, cancellationToken).ConfigureAwait(false);
        Services.Console.Error.WriteLine($"The server now lets the GitHub keys of {login} into your new reservations.");
    }
}

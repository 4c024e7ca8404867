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

    public override Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var key = parseResult.GetRequiredValue(_key);
        var value = parseResult.GetRequiredValue(_value).Trim();
        if (!ConfigStore.Keys.Contains(key))
        {
            throw CliException.Usage($"unknown config key \"{key}\"; valid keys: {string.Join(", ", ConfigStore.Keys)}");
        }

        if (key == ConfigStore.ServerKey
            && (!Uri.TryCreate(value, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)))
        {
            throw CliException.Usage($"server must be an absolute http or https URL, e.g. http://127.0.0.1:8484; got \"{value}\"");
        }

        if (key == ConfigStore.InsecureKey && value is not ("true" or "false"))
        {
            throw CliException.Usage($"insecure must be true or false; got \"{value}\"");
        }

        if (value.Length == 0)
        {
            throw CliException.Usage($"{key} must not be empty");
        }

        var store = Services.Config;
        store.Set(key, value);
        var shown = key == ConfigStore.TokenKey ? ConfigShowCommand.Mask(value) : value;
        Services.Console.Error.WriteLine($"Set {key} to {shown} in {store.FilePath}");
        return Task.FromResult(ExitCodes.Success);
    }
}

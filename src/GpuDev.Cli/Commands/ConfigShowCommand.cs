using System.CommandLine;
using GpuDev.Cli.Config;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev config show</c>: the effective settings and where each came from (token masked).</summary>
internal sealed class ConfigShowCommand : CliCommand
{
    public ConfigShowCommand(CliServices services)
        : base(services, "show", "Show the effective configuration and the config file's path.")
    {
        Aliases.Add("list");
        Examples.Add("gpu-dev config show");
    }

    public static string Mask(string? token) =>
        string.IsNullOrEmpty(token) ? string.Empty : token.Length <= 8 ? "…" : token[..4] + "…";

    public override Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var store = Services.Config;
        var tty = Services.Console.IsOutputTty;
        foreach (var key in ConfigStore.Keys)
        {
            var setting = store.Get(key);
            var value = key == ConfigStore.TokenKey ? Mask(setting.Value) : setting.Value ?? string.Empty;
            var source = setting.Source switch
            {
                ConfigSource.Environment => key == ConfigStore.ServerKey ? EnvVars.Server : EnvVars.Token,
                ConfigSource.File => "config file",
                _ => setting.Value is null ? "not set" : "default",
            };
            Services.Console.Out.WriteLine(tty ? $"{key,-12} {(value.Length == 0 ? "-" : value)}  ({source})" : $"{key}\t{value}\t{source}");
        }

        Services.Console.Out.WriteLine(tty ? $"{"file",-12} {store.FilePath}" : $"file\t{store.FilePath}\t");
        return Task.FromResult(ExitCodes.Success);
    }
}

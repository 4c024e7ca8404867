using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.LocalHost;

/// <summary>Checks <see cref="LocalHostOptions"/> and reports every problem at once.</summary>
internal sealed partial class LocalHostOptionsValidator : IValidateOptions<LocalHostOptions>
{
    public ValidateOptionsResult Validate(string? name, LocalHostOptions options)
    {
        var errors = new List<string>();

        if (!string.IsNullOrWhiteSpace(options.Gpus) && !LocalGpuSpec.TryParse(options.Gpus, out _, out var gpuError))
        {
            errors.Add($"LocalHost:Gpus: {gpuError}");
        }

        if (!PortRange.TryParse(options.PortRange, out _))
        {
            errors.Add($"LocalHost:PortRange '{options.PortRange}' is invalid: expected FIRST-LAST with 1024 <= FIRST <= LAST <= 65535, e.g. 30000-32767.");
        }

        if (string.IsNullOrWhiteSpace(options.SshHost))
        {
            errors.Add("LocalHost:SshHost must not be empty.");
        }
        else if (PublishAddressOf(options) is null)
        {
            errors.Add(options.PublishAddress is { Length: > 0 }
                ? $"LocalHost:PublishAddress '{options.PublishAddress}' is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every address)."
                : $"LocalHost:SshHost '{options.SshHost}' is a host name: set LocalHost:PublishAddress to the address clients reach it on (0.0.0.0 for every address).");
        }

        if (string.IsNullOrWhiteSpace(options.StateDir))
        {
            errors.Add("LocalHost:StateDir must not be empty.");
        }
        else if (!LocalPaths.IsSafePath(options.StateDir))
        {
            errors.Add($"LocalHost:StateDir '{options.StateDir}' must be an absolute path of letters, digits, '.', '_', '-' and '/'.");
        }

        if (string.IsNullOrWhiteSpace(options.DefaultImage) || !ImageName().IsMatch(options.DefaultImage))
        {
            errors.Add($"LocalHost:DefaultImage '{options.DefaultImage}' is not an image reference (e.g. {LocalHostOptions.DevboxImage}).");
        }

        if (string.IsNullOrWhiteSpace(options.Runtime) || !RuntimeName().IsMatch(options.Runtime))
        {
            errors.Add($"LocalHost:Runtime '{options.Runtime}' is invalid: expected auto or an OCI runtime name such as runc or crun.");
        }

        if (string.IsNullOrWhiteSpace(options.PodmanPath))
        {
            errors.Add("LocalHost:PodmanPath must not be empty.");
        }

        if (options.UidBase < 65536 || options.UidBase > int.MaxValue - (65536L * 4096))
        {
            errors.Add($"LocalHost:UidBase must be between 65536 and {int.MaxValue - (65536L * 4096)} (got {options.UidBase}).");
        }

        if (options.ResourceShare is <= 0 or > 1 || double.IsNaN(options.ResourceShare))
        {
            errors.Add($"LocalHost:ResourceShare must be in (0, 1] (got {options.ResourceShare}).");
        }

        AddIfNotPositive(errors, "ReadyTimeout", options.ReadyTimeout);
        AddIfNotPositive(errors, "CommandTimeout", options.CommandTimeout);
        AddIfNotPositive(errors, "JupyterStartTimeout", options.JupyterStartTimeout);
        AddIfNotPositive(errors, "PollInterval", options.PollInterval);

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The address ports are published on: <see cref="LocalHostOptions.PublishAddress"/>, else <see cref="LocalHostOptions.SshHost"/>
    /// when it is an IP address (<c>localhost</c>: 127.0.0.1); null when neither is usable.</summary>
    public static IPAddress? PublishAddressOf(LocalHostOptions options)
    {
        var text = options.PublishAddress is { Length: > 0 } publish ? publish : options.SshHost == "localhost" ? "127.0.0.1" : options.SshHost;
        return IPAddress.TryParse(text, out var address) ? address : null;
    }

    private static void AddIfNotPositive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"LocalHost:{key} must be positive (got {value}).");
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._/:@-]{0,254}$", RegexOptions.CultureInvariant)]
    private static partial Regex ImageName();

    [GeneratedRegex("^[a-z][a-z0-9_-]{0,31}$", RegexOptions.CultureInvariant)]
    private static partial Regex RuntimeName();
}

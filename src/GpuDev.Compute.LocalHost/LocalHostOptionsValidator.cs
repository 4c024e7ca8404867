using Microsoft.Extensions.Options;

namespace GpuDev.Compute.LocalHost;

/// <summary>Checks <see cref="LocalHostOptions"/> and reports every problem at once.</summary>
internal sealed class LocalHostOptionsValidator : IValidateOptions<LocalHostOptions>
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

        if (string.IsNullOrWhiteSpace(options.StateDir))
        {
            errors.Add("LocalHost:StateDir must not be empty.");
        }
        else if (!LocalPaths.IsSafePath(options.StateDir))
        {
            errors.Add($"LocalHost:StateDir '{options.StateDir}' must be an absolute path of letters, digits, '.', '_', '-' and '/'.");
        }
        else if (Environment.IsPrivilegedProcess && LocalPaths.IsUnderWorldWritableTemp(options.StateDir))
        {
            errors.Add($"LocalHost:StateDir '{options.StateDir}' must not be under /tmp, /var/tmp or /dev/shm when running as root (sshd refuses key files there).");
        }

        if (!Enum.TryParse<SandboxChoice>(options.Sandbox, ignoreCase: true, out _))
        {
            errors.Add($"LocalHost:Sandbox '{options.Sandbox}' is invalid: expected auto, bubblewrap or none.");
        }

        if (string.IsNullOrWhiteSpace(options.SshdPath) || !Path.IsPathFullyQualified(options.SshdPath))
        {
            errors.Add("LocalHost:SshdPath must be an absolute path.");
        }

        if (string.IsNullOrWhiteSpace(options.BwrapPath) || !Path.IsPathFullyQualified(options.BwrapPath))
        {
            errors.Add("LocalHost:BwrapPath must be an absolute path.");
        }

        AddIfNotPositive(errors, "ReadyTimeout", options.ReadyTimeout);
        AddIfNotPositive(errors, "CommandTimeout", options.CommandTimeout);
        AddIfNotPositive(errors, "StopTimeout", options.StopTimeout);
        AddIfNotPositive(errors, "PollInterval", options.PollInterval);

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void AddIfNotPositive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"LocalHost:{key} must be positive (got {value}).");
        }
    }

    internal enum SandboxChoice
    {
        Auto,
        Bubblewrap,
        None,
    }
}

using Microsoft.Extensions.Options;

namespace GpuDev.Server.Hosting;

/// <summary>Checks every server setting at start-up and reports all problems at once.</summary>
internal sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDir))
        {
            errors.Add("Server:DataDir (--data-dir) must name a directory.");
        }

        if (!options.KeysUrl.Contains("{user}", StringComparison.Ordinal) ||
            !Uri.TryCreate(options.KeysUrl.Replace("{user}", "x", StringComparison.Ordinal), UriKind.Absolute, out var uri) ||
            uri.Scheme is not ("http" or "https"))
        {
            errors.Add($"Server:KeysUrl (--keys-url) must be an http(s) URL containing {{user}}; got '{options.KeysUrl}'.");
        }

        if (options.LeaderLease < TimeSpan.FromSeconds(1))
        {
            errors.Add("Server:LeaderLease must be at least 1 s.");
        }

        if (options.PrepareTimeout <= TimeSpan.Zero || options.QueueTimeout <= TimeSpan.Zero || options.PollInterval <= TimeSpan.Zero || options.JobLease <= TimeSpan.Zero ||
            (options.ExpiryGrace < TimeSpan.Zero && !options.EnableFaultInjection))
        {
            errors.Add("Server:PrepareTimeout, QueueTimeout, PollInterval and JobLease must be positive and ExpiryGrace not negative.");
        }

        try
        {
            _ = options.TrustedProxyNetworks();
        }
        catch (FormatException)
        {
            errors.Add($"Server:TrustedProxies must be IP addresses or CIDR networks (e.g. 10.0.0.0/8); got '{string.Join(", ", options.TrustedProxies)}'.");
        }

        if (options.AuthFailureLimit < 1 || options.AuthFailureWindow <= TimeSpan.Zero)
        {
            errors.Add("Server:AuthFailureLimit must be at least 1 and Server:AuthFailureWindow positive.");
        }

        if (options.MaxProvisionAttempts < 1)
        {
            errors.Add("Server:MaxProvisionAttempts must be at least 1.");
        }

        if (!string.IsNullOrEmpty(options.CrashAt))
        {
            if (!options.EnableFaultInjection)
            {
                errors.Add("Server:CrashAt is a test-only setting: it needs Server:EnableFaultInjection=true as well.");
            }
            else if (!Faults.CrashSteps.All.Contains(options.CrashAt))
            {
                errors.Add($"Server:CrashAt '{options.CrashAt}' is not a crash step; valid: {string.Join(", ", Faults.CrashSteps.All)}.");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

namespace GpuDev.Cli;

/// <summary>Environment variables and the home directory (a seam so tests need not touch the process environment).</summary>
internal interface ICliEnvironment
{
    string? GetVariable(string name);

    string HomeDirectory { get; }
}

internal sealed class SystemCliEnvironment : ICliEnvironment
{
    public string? GetVariable(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrEmpty(value) ? null : value;
    }

    public string HomeDirectory =>
        GetVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
}

/// <summary>Names of the environment variables the CLI reads (see <c>gpu-dev help environment</c>).</summary>
internal static class EnvVars
{
    public const string Server = "GPU_DEV_SERVER";
    public const string Token = "GPU_DEV_TOKEN";
    public const string ConfigDir = "GPU_DEV_CONFIG_DIR";
    public const string Debug = "GPU_DEV_DEBUG";
    public const string Ssh = "GPU_DEV_SSH";
    public const string GpuDevHome = "GPU_DEV_HOME";

    /// <summary>1: allow plain http:// to a server that is not on this machine (the token then travels in clear).</summary>
    public const string Insecure = "GPU_DEV_INSECURE";
    public const string XdgConfigHome = "XDG_CONFIG_HOME";
    public const string NoColor = "NO_COLOR";
    public const string Ci = "CI";
}

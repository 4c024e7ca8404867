using System.Reflection;

namespace GpuDev.Cli;

internal static class CliInfo
{
    /// <summary>The assembly's informational version (what <c>gpu-dev --version</c> prints).</summary>
    public static string Version { get; } =
        typeof(CliInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
        ?? "0.0.0";
}

using GpuDev.Core.Compute;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.LocalHost;

public static class LocalHostComputeExtensions
{
    /// <summary>Registers the local-host provider as <see cref="IComputeProvider"/> and its named disks
    /// (<c>&lt;StateDir&gt;/disks</c>, one store shared by both) as <see cref="IDiskProvider"/>, bound to section <c>LocalHost</c>.
    /// <see cref="TimeProvider"/> and logging come from DI (registered by the host).</summary>
    public static IServiceCollection AddLocalHostCompute(this IServiceCollection services, IConfiguration configuration, string dataDir)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDir);

        services.AddOptions<LocalHostOptions>()
            .Bind(configuration.GetSection(LocalHostOptions.Section))
            .PostConfigure(o =>
            {
                if (string.IsNullOrWhiteSpace(o.StateDir))
                {
                    o.StateDir = LocalPaths.DefaultStateDir(dataDir);
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LocalHostOptions>, LocalHostOptionsValidator>());
        services.TryAddSingleton(new LocalHostContext(Path.GetFullPath(dataDir)));
        services.TryAddSingleton(sp => LocalDisks.ForStateDir(
            sp.GetRequiredService<IOptions<LocalHostOptions>>().Value.StateDir!,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("GpuDev.Compute.LocalHost.Disks.LocalDiskStore")));
        services.TryAddSingleton<LocalHostProvider>();
        services.TryAddSingleton<LocalHostDiskProvider>();
        services.TryAddSingleton<IDiskProvider>(sp => sp.GetRequiredService<LocalHostDiskProvider>());
        services.TryAddSingleton<IComputeProvider>(sp => sp.GetRequiredService<LocalHostProvider>());
        return services;
    }
}

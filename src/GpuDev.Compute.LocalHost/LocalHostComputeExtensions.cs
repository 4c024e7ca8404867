using GpuDev.Core.Compute;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.LocalHost;

public static class LocalHostComputeExtensions
{
    /// <summary>Registers the local-host provider as <see cref="IComputeProvider"/>, bound to section <c>LocalHost</c>.
    /// <see cref="TimeProvider"/> comes from DI (registered by the host).</summary>
    public static IServiceCollection AddLocalHostCompute(this IServiceCollection services, IConfiguration configuration, string dataDir)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(dataDir);

        services.AddOptions<LocalHostOptions>()
            .Bind(configuration.GetSection(LocalHostOptions.SectionName))
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
        services.TryAddSingleton<LocalHostProvider>();
        services.TryAddSingleton<IComputeProvider>(sp => sp.GetRequiredService<LocalHostProvider>());
        return services;
    }
}

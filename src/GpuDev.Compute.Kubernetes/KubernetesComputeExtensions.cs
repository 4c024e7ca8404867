using GpuDev.Core.Compute;
using k8s;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.Kubernetes;

public static class KubernetesComputeExtensions
{
    /// <summary>Registers the Kubernetes provider as <see cref="IComputeProvider"/> (with its events) and its disks as
    /// <see cref="IDiskProvider"/>, bound to section <c>Kubernetes</c>. The client is built from
    /// <see cref="KubernetesOptions.Kubeconfig"/>, else in-cluster configuration, else the default kubeconfig.</summary>
    public static IServiceCollection AddKubernetesCompute(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<KubernetesOptions>().Bind(configuration.GetSection(KubernetesOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KubernetesOptions>, KubernetesOptionsValidator>());
        services.TryAddSingleton<IKubernetes>(sp => new k8s.Kubernetes(ClientConfiguration(sp.GetRequiredService<IOptions<KubernetesOptions>>().Value)));
        services.TryAddSingleton<BuildRegistryTokens>();
        services.TryAddSingleton<KubernetesProvider>();
        services.TryAddSingleton<KubernetesDiskProvider>();
        services.TryAddSingleton<IComputeProvider>(sp => sp.GetRequiredService<KubernetesProvider>());
        services.TryAddSingleton<IDiskProvider>(sp => sp.GetRequiredService<KubernetesDiskProvider>());
        return services;
    }

    public static KubernetesClientConfiguration ClientConfiguration(KubernetesOptions options)
    {
        if (!string.IsNullOrEmpty(options.Kubeconfig))
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigFile(options.Kubeconfig, string.IsNullOrEmpty(options.Context) ? null : options.Context);
        }

        return KubernetesClientConfiguration.IsInCluster()
            ? KubernetesClientConfiguration.InClusterConfig()
            : KubernetesClientConfiguration.BuildConfigFromConfigFile(currentContext: string.IsNullOrEmpty(options.Context) ? null : options.Context);
    }
}

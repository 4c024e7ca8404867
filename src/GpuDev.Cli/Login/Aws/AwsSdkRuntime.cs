using System.Diagnostics.CodeAnalysis;
using Amazon.RuntimeDependencies;
using Amazon.SecurityToken;
using Amazon.SSO;
using Amazon.SSOOIDC;

namespace GpuDev.Cli.Login.Aws;

/// <summary>The AWS SDK clients that credential providers create at run time. The SDK loads them by assembly and type
/// name through reflection, which NativeAOT cannot do for code it did not keep; so the SSO profile's clients are
/// registered as the SDK asks trimmed programs to, and the STS client's constructors are kept for the SDK's reflection
/// path (a role profile's STS client must be made with the profile's source credentials, which the registry's factory
/// is not given).</summary>
internal static class AwsSdkRuntime
{
    private static int s_registered;

    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, typeof(AmazonSecurityTokenServiceClient))]
    [DynamicDependency(DynamicallyAccessedMemberTypes.PublicConstructors, typeof(AmazonSecurityTokenServiceConfig))]
    public static void Register()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 1)
        {
            return;
        }

        var registry = GlobalRuntimeDependencyRegistry.Instance;

        // What the SDK's fallback makes: anonymous clients (SSO calls carry the SSO access token, not AWS credentials).
        registry.RegisterSSOClient(context =>
        {
            var config = new AmazonSSOConfig { RegionEndpoint = context.SSOClientContextData.Region };
            if (context.SSOClientContextData.ProxySettings is { } proxy)
            {
                config.SetWebProxy(proxy);
            }

            return new AmazonSSOClient(new Amazon.Runtime.AnonymousAWSCredentials(), config);
        });
        registry.RegisterSSOOIDCClient(context =>
        {
            var config = new AmazonSSOOIDCConfig { RegionEndpoint = context.SSOOIDCClientContextData.Region };
            if (context.SSOOIDCClientContextData.ProxySettings is { } proxy)
            {
                config.SetWebProxy(proxy);
            }

            return new AmazonSSOOIDCClient(new Amazon.Runtime.AnonymousAWSCredentials(), config);
        });
    }
}

using GpuDev.Server.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Tests.Hosting;

/// <summary>Provider and store choices are checked when the server is built: one message per broken rule, with the valid values.</summary>
public sealed class ProviderOptionTests
{
    [Fact]
    public void UnknownProviderAndStore_EveryErrorNamesTheValidValues()
    {
        var dir = Directory.CreateTempSubdirectory("gpu-dev-options-").FullName;
        try
        {
            var e = Assert.Throws<OptionsValidationException>(() => ServerApp.Build(["--provider", "nomad", "--store", "mysql", "--data-dir", dir]));

            Assert.Equal(
                ["Compute:Provider (--provider) 'nomad' is not valid; valid: local, kubernetes.", "Storage:Provider (--store) 'mysql' is not available; valid: sqlite, postgres."],
                e.Failures);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void PostgresWithoutConnectionString_SaysWhatToGive()
    {
        var e = Assert.Throws<OptionsValidationException>(() => ServerApp.Build(["--store", "postgres"]));

        Assert.StartsWith("Storage:Postgres (--postgres) is required with --store postgres", Assert.Single(e.Failures), StringComparison.Ordinal);
    }

    [Fact]
    public void KubernetesWithMissingKubeconfig_IsRefusedAtStart()
    {
        var dir = Directory.CreateTempSubdirectory("gpu-dev-options-").FullName;
        try
        {
            using var app = ServerApp.Build(["--provider", "kubernetes", "--kubeconfig", "/nonexistent/kubeconfig", "--data-dir", dir]);
            var e = Assert.Throws<OptionsValidationException>(() => app.Services.GetRequiredService<IOptions<GpuDev.Compute.Kubernetes.KubernetesOptions>>().Value);

            Assert.Contains("Kubernetes:Kubeconfig (--kubeconfig) '/nonexistent/kubeconfig' does not exist.", e.Failures);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void DiskOptions_OutOfRange_RefusedWithTheRule()
    {
        var dir = Directory.CreateTempSubdirectory("gpu-dev-options-").FullName;
        try
        {
            using var app = ServerApp.Build(["--data-dir", dir, "--Disks:KeepSnapshots", "0"]);
            var e = Assert.Throws<OptionsValidationException>(() => app.Services.GetRequiredService<IOptions<GpuDev.Server.Disks.DiskOptions>>().Value);

            Assert.Contains("Disks:KeepSnapshots must be at least 1.", e.Failures);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

namespace GpuDev.Compute.LocalHost.Tests;

public sealed class LocalHostOptionsValidatorTests
{
    [Fact]
    public void Validate_Defaults_Succeed()
    {
        var result = new LocalHostOptionsValidator().Validate(null, new LocalHostOptions { StateDir = "/var/lib/gpu-dev/abc" });

        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void Validate_ManyProblems_ReportsEveryOne()
    {
        var options = new LocalHostOptions
        {
            Gpus = "h100",
            PortRange = "40000-30000",
            Runtime = "Run C!",
            SshHost = "gpu.example.com",
            DefaultImage = "Bad Image",
            UidBase = 0,
            StateDir = "relative/dir",
            ReadyTimeout = TimeSpan.Zero,
        };

        var result = new LocalHostOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Equal(8, result.Failures!.Count());
        Assert.Contains(result.Failures!, f => f.Contains("LocalHost:PublishAddress", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("127.0.0.1", null, "127.0.0.1")]
    [InlineData("localhost", null, "127.0.0.1")]
    [InlineData("gpu.example.com", "0.0.0.0", "0.0.0.0")]
    [InlineData("gpu.example.com", null, null)]
    public void PublishAddress_FromSshHostOrSetting(string sshHost, string? publish, string? expected)
    {
        var address = LocalHostOptionsValidator.PublishAddressOf(new LocalHostOptions { SshHost = sshHost, PublishAddress = publish });

        Assert.Equal(expected, address?.ToString());
    }
}

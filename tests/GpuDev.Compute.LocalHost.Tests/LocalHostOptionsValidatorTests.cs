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
            Sandbox = "docker",
            StateDir = "relative/dir",
            ReadyTimeout = TimeSpan.Zero,
        };

        var result = new LocalHostOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Equal(5, result.Failures!.Count());
    }
}

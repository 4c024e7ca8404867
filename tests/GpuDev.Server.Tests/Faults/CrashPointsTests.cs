using GpuDev.Server.Faults;
using GpuDev.Server.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Tests.Faults;

/// <summary>The fault-injection switch cannot be set by accident: CrashAt alone, or an unknown step, stops start-up.</summary>
public sealed class CrashPointsTests
{
    [Fact]
    public void Validate_CrashAtWithoutEnable_Refused()
    {
        var result = new ServerOptionsValidator().Validate(null, new ServerOptions { CrashAt = CrashSteps.AfterAllocate });

        Assert.True(result.Failed);
        Assert.Contains("EnableFaultInjection", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownStep_RefusedNamingTheValidOnes()
    {
        var result = new ServerOptionsValidator().Validate(null, new ServerOptions { EnableFaultInjection = true, CrashAt = "somewhere" });

        Assert.True(result.Failed);
        Assert.Contains(string.Join(", ", CrashSteps.All), result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NegativeExpiryGrace_OnlyWithFaultInjection()
    {
        var validator = new ServerOptionsValidator();

        Assert.True(validator.Validate(null, new ServerOptions { ExpiryGrace = TimeSpan.FromMinutes(-4) }).Failed);
        Assert.True(validator.Validate(null, new ServerOptions { ExpiryGrace = TimeSpan.FromMinutes(-4), EnableFaultInjection = true }).Succeeded);
    }

    [Fact]
    public void Reach_OtherStepOrDisabled_ReturnsNormally()
    {
        var enabledElsewhere = new CrashPoints(Options.Create(new ServerOptions { EnableFaultInjection = true, CrashAt = CrashSteps.AfterSnapshot }), NullLogger<CrashPoints>.Instance);
        var disabled = new CrashPoints(Options.Create(new ServerOptions { CrashAt = CrashSteps.AfterAllocate }), NullLogger<CrashPoints>.Instance);

        foreach (var step in CrashSteps.All.Where(s => s != CrashSteps.AfterSnapshot))
        {
            enabledElsewhere.Reach(step);
        }

        disabled.Reach(CrashSteps.AfterAllocate);
        Assert.Equal(9, CrashSteps.All.Count);
        Assert.Equal(CrashSteps.All.Count, CrashSteps.All.Distinct().Count());
    }
}

using GpuDev.Tests;
using Xunit.Sdk;

namespace GpuDev.Core.Tests.Architecture;

/// <summary>The one way a test skips (tests/Shared/TestSkips.cs, compiled into every test project): under CI's require-all
/// switch a skip fails the test with its reason (the skipping branches cannot be asserted: xUnit reports the test itself as
/// skipped). The test files
/// that can skip at run time (tmux missing in the terminal tests, PostgreSQL opted out in the replica and store tests,
/// a stale bin/ in the quick-start test, …) all go through it, which <c>Tests_SkipOnlyThroughTestSkips</c> enforces.</summary>
public sealed class TestSkipsTests
{
    [Fact]
    public void Skip_UnderRequireAll_FailsWithTheReasonAndTheAllowList()
    {
        var failure = Assert.Throws<FailException>(() => TestSkips.Skip("tmux is not installed", requireAll: true));

        Assert.Contains("tmux is not installed", failure.Message, StringComparison.Ordinal);
        Assert.Contains($"{TestSkips.RequireAllVariable}=1", failure.Message, StringComparison.Ordinal);
        Assert.Contains("NoKubeconfig, NoGpu", failure.Message, StringComparison.Ordinal);
    }
}

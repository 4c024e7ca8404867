namespace GpuDev.Tests;

/// <summary>The one way a test skips. Under CI's require-all switch (<see cref="RequireAllVariable"/>=1, set by .ci/run) a
/// test that cannot run fails with its reason instead, so a missing package or service can never turn CI green; only the
/// named allow-list (<see cref="Allowed"/>) may still skip there, printing its reason.</summary>
internal static class TestSkips
{
    public const string RequireAllVariable = "GPU_DEV_REQUIRE_ALL_TESTS";

    /// <summary>What may skip even in CI: things CI cannot have.</summary>
    public enum Allowed
    {
        /// <summary>The real-cluster tests need a Kubernetes cluster (KUBECONFIG).</summary>
        NoKubeconfig,

        /// <summary>GPU tests need an NVIDIA GPU.</summary>
        NoGpu,
    }

    public static bool RequireAll => Environment.GetEnvironmentVariable(RequireAllVariable) == "1";

    /// <summary>Skips with <paramref name="reason"/>; under the require-all switch, fails with it.</summary>
    public static void Skip(string reason) => Skip(reason, RequireAll);

    /// <summary><see cref="Skip(string)"/> with the switch given (tests of this class set it without touching the process's environment).</summary>
    internal static void Skip(string reason, bool requireAll)
    {
        if (requireAll)
        {
            Assert.Fail($"{reason} [{RequireAllVariable}=1: every test must run here; only {string.Join(", ", Enum.GetNames<Allowed>())} may skip]");
        }

        Assert.Skip(reason);
    }

    public static void SkipWhen(bool condition, string reason)
    {
        if (condition)
        {
            Skip(reason);
        }
    }

    /// <summary>A skip on the allow-list: allowed everywhere, its reason printed.</summary>
    public static void Skip(Allowed why, string reason) => Assert.Skip($"{reason} (allowed: {why})");
}

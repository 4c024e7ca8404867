namespace GpuDev.Server.Tests.Observability;

/// <summary>Tests that read process-wide meters: not run in parallel with any other test.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "metrics";
}

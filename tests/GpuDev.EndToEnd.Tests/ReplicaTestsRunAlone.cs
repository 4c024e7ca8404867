namespace GpuDev.EndToEnd.Tests;

/// <summary>The replica test's collection: run after the others, with nothing beside it.</summary>
[CollectionDefinition(nameof(ReplicaTests), DisableParallelization = true)]
public sealed class ReplicaTestsRunAlone;

namespace GpuDev.Core.Compute;

/// <summary>A node a provider offers: its GPU type and how many GPUs it has (indices 0..GpuCount-1).</summary>
/// <param name="Name">Stable node name, unique in the fleet (e.g. <c>local-0</c>).</param>
/// <param name="GpuType">Catalog type name, e.g. <c>h100</c>.</param>
/// <param name="GpuCount">GPUs on the node; 0 for CPU-only nodes.</param>
/// <param name="Simulated">True when the GPUs are declared in configuration rather than discovered.</param>
/// <param name="Labels">Node labels, for <c>--node-label</c> selection.</param>
public sealed record ComputeNode(string Name, string GpuType, int GpuCount, bool Simulated, IReadOnlyDictionary<string, string>? Labels = null);

namespace GpuDev.Core.Catalog;

/// <summary>One kind of machine a user can reserve (a row of the seed's GPU table).</summary>
/// <param name="Name">Wire name, e.g. <c>h100</c>.</param>
/// <param name="InstanceType">Cloud instance type the kind corresponds to, e.g. <c>p5.48xlarge</c>.</param>
/// <param name="GpusPerNode">GPUs on one node; 0 for CPU-only kinds.</param>
/// <param name="MemoryGbPerGpu">GPU memory in GB; 0 for CPU-only kinds.</param>
/// <param name="Description">What the kind is best for.</param>
public sealed record GpuType(string Name, string InstanceType, int GpusPerNode, int MemoryGbPerGpu, string Description)
{
    public bool IsCpuOnly => GpusPerNode == 0;
}

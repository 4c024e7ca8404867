namespace GpuDev.Core.Catalog;

/// <summary>The GPU types a site offers. Server configuration; the default is the seed's table.</summary>
public sealed class GpuCatalog
{
    private readonly Dictionary<string, GpuType> _byName;

    public GpuCatalog(IEnumerable<GpuType> types)
    {
        Types = [.. types];
        _byName = Types.ToDictionary(t => t.Name, StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyList<GpuType> Types { get; }

    public IEnumerable<string> Names => Types.Select(t => t.Name);

    public GpuType? Find(string? name) =>
        name is not null && _byName.TryGetValue(name, out var type) ? type : null;

    /// <summary>The seed's table (the user's README, section "GPU Types").</summary>
    public static GpuCatalog Default { get; } = new(
    [
        new("b200", "p6-b200.48xlarge", 8, 192, "Latest NVIDIA Blackwell, highest performance"),
        new("h200", "p5e.48xlarge", 8, 141, "Large models, high memory workloads"),
        new("h100", "p5.48xlarge", 8, 80, "Production training, large-scale inference"),
        new("a100", "p4d.24xlarge", 8, 40, "General ML training"),
        new("a10g", "g5.12xlarge", 4, 24, "Inference, smaller training"),
        new("t4", "g4dn.12xlarge", 4, 16, "Development, testing"),
        new("l4", "g6.12xlarge", 4, 24, "Inference, cost-effective"),
        new("t4-small", "g4dn.xlarge", 1, 16, "Single GPU development"),
        new("cpu-arm", "c7g.4xlarge", 0, 0, "ARM CPU-only workloads"),
        new("cpu-x86", "c7i.4xlarge", 0, 0, "x86 CPU-only workloads"),
    ]);
}

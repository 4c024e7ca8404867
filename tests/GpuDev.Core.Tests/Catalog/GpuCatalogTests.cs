using GpuDev.Core.Catalog;

namespace GpuDev.Core.Tests.Catalog;

public sealed class GpuCatalogTests
{
    /// <summary>The seed's "GPU Types" table: name, instance type, GPUs/node, memory/GPU in GB (N/A = 0).</summary>
    public static TheoryData<string, string, int, int> SeedTable => new()
    {
        { "b200", "p6-b200.48xlarge", 8, 192 },
        { "h200", "p5e.48xlarge", 8, 141 },
        { "h100", "p5.48xlarge", 8, 80 },
        { "a100", "p4d.24xlarge", 8, 40 },
        { "a10g", "g5.12xlarge", 4, 24 },
        { "l4", "g6.12xlarge", 4, 24 },
        { "t4", "g4dn.12xlarge", 4, 16 },
        { "t4-small", "g4dn.xlarge", 1, 16 },
        { "cpu-arm", "c7g.4xlarge", 0, 0 },
        { "cpu-x86", "c7i.4xlarge", 0, 0 },
    };

    [Fact]
    public void Default_Always_HasExactlyTheSeedsTenTypes()
    {
        string[] expected = ["b200", "h200", "h100", "a100", "a10g", "l4", "t4", "t4-small", "cpu-arm", "cpu-x86"];

        var names = GpuCatalog.Default.Names.ToList();

        Assert.Equal(10, GpuCatalog.Default.Types.Count);
        Assert.Equal(expected.Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(SeedTable))]
    public void Find_SeedRow_MatchesSeedTable(string name, string instanceType, int gpusPerNode, int memoryGbPerGpu)
    {
        var catalog = GpuCatalog.Default;

        var type = catalog.Find(name);

        Assert.NotNull(type);
        Assert.Equal(name, type.Name);
        Assert.Equal(instanceType, type.InstanceType);
        Assert.Equal(gpusPerNode, type.GpusPerNode);
        Assert.Equal(memoryGbPerGpu, type.MemoryGbPerGpu);
        Assert.Equal(gpusPerNode == 0, type.IsCpuOnly);
        Assert.False(string.IsNullOrWhiteSpace(type.Description));
    }

    [Theory]
    [InlineData("H100", "h100")]
    [InlineData("h100", "h100")]
    [InlineData("T4-SMALL", "t4-small")]
    [InlineData("Cpu-X86", "cpu-x86")]
    [InlineData("A10G", "a10g")]
    public void Find_DifferentCase_ReturnsType(string query, string expectedName)
    {
        var catalog = GpuCatalog.Default;

        var type = catalog.Find(query);

        Assert.NotNull(type);
        Assert.Equal(expectedName, type.Name);
    }

    [Theory]
    [InlineData("v100")]
    [InlineData("")]
    [InlineData(" h100")]
    [InlineData("h100 ")]
    [InlineData("h")]
    [InlineData("cpu")]
    public void Find_UnknownName_ReturnsNull(string query)
    {
        var catalog = GpuCatalog.Default;

        var type = catalog.Find(query);

        Assert.Null(type);
    }

    [Fact]
    public void Find_Null_ReturnsNull()
    {
        var catalog = GpuCatalog.Default;

        var type = catalog.Find(null);

        Assert.Null(type);
    }

    [Fact]
    public void Constructor_CustomTypes_OnlyThoseAreOffered()
    {
        var custom = new GpuType("rtx4090", "workstation", 2, 24, "Local box");

        var catalog = new GpuCatalog([custom]);

        Assert.Same(custom, catalog.Find("RTX4090"));
        Assert.Null(catalog.Find("h100"));
        Assert.Equal(["rtx4090"], catalog.Names);
    }
}

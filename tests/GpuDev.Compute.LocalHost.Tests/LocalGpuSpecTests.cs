namespace GpuDev.Compute.LocalHost.Tests;

public sealed class LocalGpuSpecTests
{
    [Fact]
    public void Parse_ValidSpec_OneNodePerItem()
    {
        var nodes = LocalGpuSpec.Parse("h100:8, H100:8,t4:4,cpu-x86:0");

        Assert.Equal(["local-0", "local-1", "local-2", "local-3"], nodes.Select(n => n.Name));
        Assert.Equal(["h100", "h100", "t4", "cpu-x86"], nodes.Select(n => n.GpuType));
        Assert.Equal([8, 8, 4, 0], nodes.Select(n => n.GpuCount));
        Assert.All(nodes, n => Assert.True(n.Simulated));
    }

    [Theory]
    [InlineData("")]
    [InlineData("h100")]
    [InlineData("h100:eight")]
    [InlineData("h100:8,")]
    [InlineData(":8")]
    [InlineData("h100:-1")]
    [InlineData("h100:65")]
    [InlineData("h 100:8")]
    public void Parse_InvalidSpec_ThrowsFormatExceptionNamingTheFormat(string spec)
    {
        var ex = Assert.Throws<FormatException>(() => LocalGpuSpec.Parse(spec));

        Assert.Contains("TYPE:COUNT", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [InlineData("NVIDIA H100 80GB HBM3", "h100")]
    [InlineData("NVIDIA A100-SXM4-80GB", "a100")]
    [InlineData("Tesla T4", "t4")]
    [InlineData("NVIDIA A10G", "a10g")]
    [InlineData("NVIDIA L4", "l4")]
    [InlineData("NVIDIA L40S", "l40s")]
    [InlineData("NVIDIA B200", "b200")]
    public void MapModel_KnownAndUnknownNames_MapsToCatalogType(string name, string expected)
    {
        Assert.Equal(expected, NvidiaSmi.MapModel(name));
    }

    [Fact]
    public void ParseQuery_NvidiaSmiOutput_CountsGpus()
    {
        var parsed = NvidiaSmi.ParseQuery("0, NVIDIA H200, 143771 MiB\n1, NVIDIA H200, 143771 MiB\n");

        Assert.Equal(("h200", 2), (parsed!.Value.GpuType, parsed.Value.Count));
    }
}

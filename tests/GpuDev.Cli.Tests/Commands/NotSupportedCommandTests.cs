namespace GpuDev.Cli.Tests.Commands;

public sealed class NotSupportedCommandTests
{
    [Theory]
    [InlineData("gpu-dev disk create", "disk", "create", "d1")]
    [InlineData("gpu-dev disk rename", "disk", "rename", "a", "b")]
    public async Task Execute_SeedCommand_NotSupportedYetExit1(string name, params string[] args)
    {
        using var cli = new CliHarness();

        var exit = await cli.RunAsync(args);

        Assert.Equal(1, exit);
        Assert.Equal($"error: {name} is not supported yet", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }
}

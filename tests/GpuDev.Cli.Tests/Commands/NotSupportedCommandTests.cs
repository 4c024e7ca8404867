using System.CommandLine;
using GpuDev.Cli.Commands;

namespace GpuDev.Cli.Tests.Commands;

public sealed class NotSupportedCommandTests
{
    [Fact]
    public async Task Execute_NotSupportedCommand_NotSupportedYetExit1()
    {
        using var cli = new CliHarness();
        var services = new CliServices { Console = cli.Console, Environment = cli.Environment, HttpHandler = cli.Http };
        var root = new RootCommand { new NotSupportedCommand(services, "frob", "Frobnicate.", [new Argument<string>("X")], [], "frob thing") };

        var exit = await root.Parse(["frob", "a"]).InvokeAsync(new InvocationConfiguration { Output = cli.Console.Out, Error = cli.Console.Error });

        Assert.Equal(1, exit);
        Assert.Equal("error: gpu-dev frob thing is not supported yet", cli.Console.StdErr.Trim());
        Assert.Empty(cli.Http.Requests);
    }
}

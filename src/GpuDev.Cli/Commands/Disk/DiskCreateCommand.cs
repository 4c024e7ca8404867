using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands.Disk;

/// <summary><c>gpu-dev disk create NAME</c>.</summary>
internal sealed class DiskCreateCommand : CliCommand
{
    private readonly Argument<string> _name = DiskNames.Argument();
    private readonly Option<bool> _json = CommonOptions.Json();

    public DiskCreateCommand(CliServices services)
        : base(services, "create", "Create a named persistent disk (letters, digits, - and _).")
    {
        Arguments.Add(_name);
        Options.Add(_json);
        Examples.Add("gpu-dev disk create my-project");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var name = parseResult.GetValue(_name);
        DiskNames.Validate(name);
        var disk = await Services.CreateClient().CreateDiskAsync(name!, cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, disk);
            return ExitCodes.Success;
        }

        Services.Console.Out.WriteLine($"Created disk {disk.Name} ({DiskTable.Bytes(disk.QuotaBytes)})");
        Services.Console.Error.WriteLine($"Use it with `gpu-dev reserve --disk {disk.Name}`.");
        return ExitCodes.Success;
    }
}

using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev usage [--user U] [--since WHEN] [--json]</c>: GPU-hours booked and used per user and GPU type, so a
/// user sees what they took against what they asked for, and an admin sees who uses the fleet.</summary>
internal sealed class UsageCommand : CliCommand
{
    private readonly Option<string> _user = new("--user", "-u") { Description = "This user's usage (admins only, unless it is you), or `all` for everybody's (an admin's default)" };
    private readonly Option<string> _since = new("--since") { Description = "Start of the window: an age (24h, 7d, 30d) or a UTC date or time (2026-12-01, 2026-12-01T09:00:00Z); default 7d" };
    private readonly Option<bool> _json = CommonOptions.Json();

    public UsageCommand(CliServices services)
        : base(services, "usage", "Show GPU-hours booked and used, per user and GPU type (yours; an admin's: everybody's).")
    {
        Options.Add(_user);
        Options.Add(_since);
        Options.Add(_json);
        Details = HelpTopics.GpuHours;
        Examples.Add("gpu-dev usage");
        Examples.Add("gpu-dev usage --since 30d");
        Examples.Add("gpu-dev usage --user alice --since 2026-12-01 --json");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var since = parseResult.GetValue(_since)?.Trim();
        if (since is not null && SinceText.Parse(since, Services.Time.GetUtcNow()) is null)
        {
            throw CliException.Usage($"--since must be {SinceText.Rule}; got \"{parseResult.GetValue(_since)}\"");
        }

        var user = parseResult.GetValue(_user)?.Trim();
        if (user is { Length: 0 })
        {
            throw CliException.Usage("--user must name a user, or `all`");
        }

        var report = await Services.CreateClient().GetUsageAsync(user, since, cancellationToken).ConfigureAwait(false);
        var console = Services.Console;
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(console.Out, report);
        }
        else if (report.Rows.Count == 0)
        {
            if (console.IsOutputTty)
            {
                console.Error.WriteLine($"No reservations {UsageTable.Window(report)}");
            }
        }
        else
        {
            UsageTable.Write(console, report);
        }

        return ExitCodes.Success;
    }
}

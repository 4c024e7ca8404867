using System.CommandLine;
using GpuDev.Cli.Output;

namespace GpuDev.Cli.Commands;

/// <summary><c>gpu-dev admin audit [--user U] [--reservation ID] [--action A] [--since WHEN] [--limit N] [--json]</c>.</summary>
internal sealed class AdminAuditCommand : CliCommand
{
    public const int MaxLimit = 1000;

    private readonly Option<string> _user = new("--user", "-u") { Description = "Only what this user did (`anonymous` for unauthenticated callers, `system:scheduler` etc. for workers)" };
    private readonly Option<string> _reservation = new("--reservation", "-r") { Description = "Only what concerns this reservation (ID or a prefix of it)" };
    private readonly Option<string> _action = new("--action") { Description = "Only actions starting with this, e.g. DELETE or transition" };
    private readonly Option<string> _since = new("--since") { Description = "Only entries since a UTC date/time (2026-11-01, 2026-11-01T08:00:00Z) or an age (30m, 24h, 7d)" };
    private readonly Option<int?> _limit = new("--limit", "-L")
    {
        Description = $"At most this many entries, newest first (1-{MaxLimit}; default 100)",
        CustomParser = CliNumbers.Count($"1 to {MaxLimit}"),
    };
    private readonly Option<bool> _json = CommonOptions.Json();

    public AdminAuditCommand(CliServices services)
        : base(services, "audit", "Show the audit log: who changed what, who was refused, and what the workers did.")
    {
        Options.Add(_user);
        Options.Add(_reservation);
        Options.Add(_action);
        Options.Add(_since);
        Options.Add(_limit);
        Options.Add(_json);
        Examples.Add("gpu-dev admin audit --reservation 3f2a9c1e");
        Examples.Add("gpu-dev admin audit --user bob --since 24h");
        Examples.Add("gpu-dev admin audit --since 2026-11-01 --limit 500 --json");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var now = Services.Time.GetUtcNow();
        DateTimeOffset? since = null;
        if (parseResult.GetValue(_since) is { } sinceText)
        {
            since = SinceText.Parse(sinceText, now)
                ?? throw CliException.Usage($"--since must be {SinceText.Rule}; got \"{sinceText}\"");
        }

        var limit = parseResult.GetValue(_limit);
        if (limit is < 1 or > MaxLimit)
        {
            throw CliException.Usage($"--limit must be from 1 to {MaxLimit}; got {limit}");
        }

        var entries = await Services.CreateClient().ListAuditAsync(
            parseResult.GetValue(_user), parseResult.GetValue(_reservation), parseResult.GetValue(_action), since, limit, cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, entries);
        }
        else if (entries.Count == 0)
        {
            if (Services.Console.IsOutputTty)
            {
                Services.Console.Error.WriteLine("No audit entries found");
            }
        }
        else
        {
            AuditTable.Write(Services.Console, entries);
        }

        return ExitCodes.Success;
    }
}

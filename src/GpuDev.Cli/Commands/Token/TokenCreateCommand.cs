using System.CommandLine;
using System.Globalization;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands.Token;

/// <summary><c>gpu-dev token create [--name NAME] [--ttl DURATION] [--json]</c>: a new API token, its secret shown once.</summary>
internal sealed class TokenCreateCommand : CliCommand
{
    public const int MaxNameLength = 64;
    public static readonly TimeSpan MinTtl = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(365);
    public const string TtlRule = "a whole number with m, h or d (30m, 12h, 7d, 90d), from 5m to 365d";

    private readonly Option<string> _name = new("--name", "-n") { HelpName = "NAME", Description = $"A name to recognise it by in `gpu-dev token list` (1-{MaxNameLength} characters; default: the date)" };
    private readonly Option<string> _ttl = new("--ttl") { HelpName = "DURATION", Description = $"How long it works: {TtlRule}; default 30d" };
    private readonly Option<bool> _json = CommonOptions.Json();

    public TokenCreateCommand(CliServices services)
        : base(services, "create", "Create an API token; its secret is shown once.")
    {
        Options.Add(_name);
        Options.Add(_ttl);
        Options.Add(_json);
        Examples.Add("gpu-dev token create --name ci --ttl 90d");
        Examples.Add("gpu-dev token create --ttl 12h --json");
    }

    public override async Task<int> ExecuteAsync(ParseResult parseResult, CancellationToken cancellationToken)
    {
        var name = parseResult.GetValue(_name);
        if (name is not null && (name.Trim().Length is 0 or > MaxNameLength || name.Any(char.IsControl)))
        {
            throw CliException.Usage($"--name must be 1-{MaxNameLength} printable characters; got {name.Trim().Length} characters");
        }

        double? ttlHours = null;
        if (parseResult.GetValue(_ttl) is { } ttlText)
        {
            ttlHours = (ParseTtl(ttlText) ?? throw CliException.Usage($"--ttl must be {TtlRule}; got \"{ttlText}\"")).TotalHours;
        }

        var created = await Services.CreateClient().CreateTokenAsync(new CreateTokenRequest(name?.Trim(), ttlHours), cancellationToken).ConfigureAwait(false);
        if (parseResult.GetValue(_json))
        {
            JsonOutput.Write(Services.Console.Out, created);
            return ExitCodes.Success;
        }

        // The secret alone on stdout (`gpu-dev token create | ...`); everything about it on stderr.
        var record = created.Record;
        var now = Services.Time.GetUtcNow();
        Services.Console.Out.WriteLine(created.Token);
        var err = Services.Console.Error;
        err.WriteLine($"Created token '{record.Name}' ({Format.ShortId(record.Id)}), expires {Format.HumanTime(record.ExpiresAt, now)}.");
        err.WriteLine("It is shown only this once: copy it now. Use it with GPU_DEV_TOKEN=... or `gpu-dev config set token TOKEN`; revoke it with `gpu-dev token revoke "
            + Format.ShortId(record.Id) + "`.");
        return ExitCodes.Success;
    }

    /// <summary><c>30m</c>, <c>12h</c>, <c>7d</c>: a whole number and a unit, within <see cref="MinTtl"/>..<see cref="MaxTtl"/>; null otherwise.</summary>
    internal static TimeSpan? ParseTtl(string text)
    {
        text = text.Trim();
        if (text.Length < 2 || !CliNumbers.TryParseCount(text[..^1], out var n))
        {
            return null;
        }

        TimeSpan? ttl = char.ToLower(text[^1], CultureInfo.InvariantCulture) switch
        {
            'm' => TimeSpan.FromMinutes(n),
            'h' => TimeSpan.FromHours(n),
            'd' => TimeSpan.FromDays(n),
            _ => null,
        };
        return ttl is { } t && t >= MinTtl && t <= MaxTtl ? t : null;
    }
}

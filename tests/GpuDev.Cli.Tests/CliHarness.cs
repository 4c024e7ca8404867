using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.Cli.Tests;

/// <summary>Runs gpu-dev in-process against a fake HTTP handler, a test console and a temp config dir.</summary>
internal sealed class CliHarness : IDisposable
{
    public const string Server = "http://gpu-dev.test:8484";
    public const string Token = "tok_1234567890abcdef";

    public CliHarness(bool tty = false, bool withToken = true)
    {
        TempDir = Directory.CreateTempSubdirectory("gpu-dev-cli-tests-").FullName;
        Console = new TestConsole(tty);
        var variables = new Dictionary<string, string>
        {
            [EnvVars.ConfigDir] = Path.Combine(TempDir, "config"),
            [EnvVars.Server] = Server,

            // The fake server has a non-loopback name; HostileServerTests checks the refusal without this.
            [EnvVars.Insecure] = "1",
        };
        if (withToken)
        {
            variables[EnvVars.Token] = Token;
        }

        Environment = new TestEnvironment(variables, Path.Combine(TempDir, "home"));
    }

    public string TempDir { get; }

    /// <summary>$HOME of the CLI under test.</summary>
    public string Home => Environment.HomeDirectory;

    /// <summary>~/.gpu-dev of the CLI under test.</summary>
    public string GpuDevDir => Path.Combine(Home, ".gpu-dev");

    public TestConsole Console { get; }

    public TestEnvironment Environment { get; }

    public FakeHttpHandler Http { get; } = new();

    public CancellationTokenSource Cancellation { get; } = new();

    public DateTimeOffset Now { get; } = new(2030, 1, 2, 10, 0, 0, TimeSpan.Zero);

    /// <summary>Replaces the fixed clock (e.g. with a <see cref="RecordingTimeProvider"/>).</summary>
    public TimeProvider? Time { get; set; }

    /// <summary>What `keys add -` reads as stdin.</summary>
    public string StandardInput { get; set; } = string.Empty;

    /// <summary>URLs the CLI asked to open in a browser (none is started).</summary>
    public List<string> OpenedUrls { get; } = [];

    /// <summary>Whether the pretend browser opener succeeds.</summary>
    public bool BrowserOpens { get; set; } = true;

    public string HostName { get; set; } = "devbox";

    /// <summary>What `login --aws` finds as AWS credentials (none unless set).</summary>
    public FakeAwsCredentials Aws { get; } = new();

    /// <summary>Keep the production poll/watch intervals instead of 1 ms (with a clock that does not really wait).</summary>
    public bool DefaultIntervals { get; set; }

    public async Task<int> RunAsync(params string[] args)
    {
        var fast = TimeSpan.FromMilliseconds(1);
        var defaults = new CliServices { Console = Console, Environment = Environment };
        var services = new CliServices
        {
            Console = Console,
            Environment = Environment,
            HttpHandler = Http,
            Time = Time ?? new FixedTimeProvider(Now),
            PollInterval = DefaultIntervals ? defaults.PollInterval : fast,
            WatchInterval = DefaultIntervals ? defaults.WatchInterval : fast,
            AvailWatchInterval = DefaultIntervals ? defaults.AvailWatchInterval : fast,
            StandardInput = () => new StringReader(StandardInput),
            OpenBrowser = url =>
            {
                OpenedUrls.Add(url);
                return BrowserOpens;
            },
            HostName = HostName,
            AwsCredentials = Aws,
        };
        return await CliApp.RunAsync(args, services, Cancellation.Token);
    }

    public static ReservationDto Reservation(string status, string id = "abcdef1234567890abcdef1234567890", Action<ReservationBuilder>? configure = null)
    {
        var b = new ReservationBuilder { Id = id, Status = status };
        configure?.Invoke(b);
        return b.Build();
    }

    public static string Json(ReservationDto r) => JsonSerializer.Serialize(r, GpuDevJsonContext.Default.ReservationDto);

    public static string Json(List<ReservationDto> r) => JsonSerializer.Serialize(r, GpuDevJsonContext.Default.ListReservationDto);

    public void Dispose()
    {
        Cancellation.Dispose();
        Http.Dispose();
        try
        {
            Directory.Delete(TempDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal sealed class ReservationBuilder
{
    public required string Id { get; set; }

    public required string Status { get; set; }

    public string? Name { get; set; } = "train";

    public string User { get; set; } = "alice";

    public string GpuType { get; set; } = "h100";

    public int GpuCount { get; set; } = 2;

    public int? QueuePosition { get; set; }

    public string? WaitReason { get; set; }

    public string? StatusReason { get; set; }

    public string? HostKey { get; set; }

    public string SshHost { get; set; } = "10.0.0.5";

    public int SshPort { get; set; } = 30001;

    public string SshUser { get; set; } = "dev";

    /// <summary>Overrides the default estimate of a queued reservation (created + 2 h).</summary>
    public DateTimeOffset? EstimatedStartAt { get; set; }

    public bool UnknownStart { get; set; }

    public DateTimeOffset? LikelyStartAt { get; set; }

    public int NodeCount { get; set; } = 1;

    public bool Jupyter { get; set; }

    public string? Disk { get; set; }

    public string? JupyterUrl { get; set; }

    public double ExtendedHours { get; set; }

    /// <summary>The hours asked for at creation (an extension is in <see cref="ExtendedHours"/>).</summary>
    public double Hours { get; set; } = 4;

    public List<string> AddedUsers { get; set; } = [];

    public List<WarningDto> Warnings { get; set; } = [];

    public bool CanEdit { get; set; } = true;

    /// <summary>Overrides the default single node (node-a, GPUs 0,1) of an active reservation.</summary>
    public List<NodeAllocationDto>? Nodes { get; set; }

    public ReservationDto Build()
    {
        var created = new DateTimeOffset(2030, 1, 2, 9, 0, 0, TimeSpan.Zero);
        var active = Status == "active";
        return new ReservationDto
        {
            Id = Id,
            Name = Name,
            User = User,
            CreatedAt = created,
            Status = Status,
            StatusReason = StatusReason,
            GpuType = GpuType,
            GpuCount = GpuCount,
            Hours = Hours,
            StartedAt = active ? created.AddMinutes(5) : null,
            ExpiresAt = active ? created.AddHours(4).AddMinutes(5) : null,
            QueuePosition = QueuePosition,
            EstimatedStartAt = UnknownStart ? null : EstimatedStartAt ?? (Status == "queued" ? created.AddHours(2) : null),
            LikelyStartAt = LikelyStartAt,
            WaitReason = WaitReason,
            Ssh = active ? new SshInfoDto { Host = SshHost, Port = SshPort, User = SshUser, Command = $"ssh -p {SshPort} {SshUser}@{SshHost}", HostKey = HostKey } : null,
            NodeCount = NodeCount,
            Nodes = Nodes ?? (active ? [new NodeAllocationDto(0, "node-a", [0, 1])] : []),
            History = [new HistoryEntryDto(created, null, "pending", "created")],
            Jupyter = Jupyter || JupyterUrl is not null,
            JupyterUrl = JupyterUrl,
            Disk = Disk,
            ExtendedHours = ExtendedHours,
            AddedUsers = AddedUsers,
            Warnings = Warnings,
            CanEdit = CanEdit,
        };
    }
}

/// <summary>A fixed clock in a given zone (UTC unless told), so times shown to people do not depend on the machine.</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now, TimeZoneInfo? zone = null) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;

    public override TimeZoneInfo LocalTimeZone => zone ?? TimeZoneInfo.Utc;
}

/// <summary>A fixed clock whose timers record the delay asked for and then fire after 1 ms, so a test can check
/// a refresh interval without waiting for it.</summary>
internal sealed class RecordingTimeProvider(DateTimeOffset now) : TimeProvider
{
    private readonly List<TimeSpan> _delays = [];

    public IReadOnlyList<TimeSpan> Delays
    {
        get
        {
            lock (_delays)
            {
                return [.. _delays];
            }
        }
    }

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override DateTimeOffset GetUtcNow() => now;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        lock (_delays)
        {
            _delays.Add(dueTime);
        }

        return TimeProvider.System.CreateTimer(callback, state, TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
    }
}

using System.Net.Http.Headers;
using System.Net.Http.Json;
using GpuDev.Contracts;
using GpuDev.Core.Audit;
using GpuDev.Core.Compute;
using GpuDev.Core.Storage;
using GpuDev.Server.Identity;
using GpuDev.Server.Processing;
using GpuDev.Testing;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace GpuDev.Server.Tests;

/// <summary>The real server (WebApplicationFactory) on a temp SQLite file, with a fake provider and fake time.</summary>
public sealed class ServerFixture : WebApplicationFactory<Program>
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("gpu-dev-server-tests-").FullName;
    private bool _keepData;

    private readonly Dictionary<string, string> _settings = [];

    public ServerFixture(IReadOnlyDictionary<string, string> settings, params ComputeNode[] nodes)
        : this(nodes)
    {
        _settings = new(settings);
    }

    public ServerFixture(params ComputeNode[] nodes)
    {
        Provider = new FakeComputeProvider(nodes.Length > 0 ? nodes : [new ComputeNode("node-0", "h100", 8, true)]);
        Disks = new FakeDiskProvider(Time);
    }

    public FakeComputeProvider Provider { get; private set; }

    public string DataDir => _dataDir;

    /// <summary>Stops this server and returns a new one on its data (a restart): same store, same provider state, same clock.</summary>
    public async Task<ServerFixture> RestartAsync()
    {
        _keepData = true;
        await DisposeAsync();
        var next = new ServerFixture(_dataDir) { Provider = Provider, Disks = Disks };
        next.Time.SetUtcNow(Time.GetUtcNow());
        return next;
    }

    private ServerFixture(string dataDir)
    {
        _dataDir = dataDir;
        Provider = null!;
    }

    public FakeSshKeySource KeySource { get; } = new();

    public FakeDiskProvider Disks { get; private set; } = null!;

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero));

    public IReservationStore Store => Services.GetRequiredService<IReservationStore>();

    /// <summary>When set (before the first request), every log entry the server writes past its configured level filters.</summary>
    public LogCapture? Logs { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Server:DataDir", _dataDir);
        builder.UseSetting("LocalHost:Gpus", "h100:8");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        if (Logs is not null)
        {
            builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        }

        builder.ConfigureTestServices(services =>
        {
            services.AddSingleton<TimeProvider>(Time);
            services.AddSingleton<IComputeProvider>(Provider);
            services.AddSingleton<GpuDev.Core.Identity.ISshKeySource>(KeySource);
            services.AddSingleton<IDiskProvider>(Disks);
            services.AddSingleton<IStartupFilter, RemoteAddressFilter>();
        });
    }

    /// <summary>Header by which a test chooses the caller's IP address (the test server has none of its own).</summary>
    public const string RemoteAddressHeader = "X-Test-Remote-Address";

    /// <summary>Gives every test request a remote address: the one in <see cref="RemoteAddressHeader"/>, the one the test set on
    /// the connection, or 127.0.0.1.</summary>
    private sealed class RemoteAddressFilter : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((http, nextMiddleware) =>
            {
                if (http.Request.Headers.TryGetValue(RemoteAddressHeader, out var value) && IPAddress.TryParse(value, out var ip))
                {
                    http.Connection.RemoteIpAddress = ip;
                }
                else
                {
                    http.Connection.RemoteIpAddress ??= IPAddress.Loopback;
                }
                return nextMiddleware(http);
            });
            next(app);
        };
    }

    /// <summary>Adds a user and returns a client that sends their token.</summary>
    public async Task<HttpClient> ClientForAsync(string name, bool admin = false, bool withKey = true, string? github = null)
    {
        var token = Tokens.Generate();
        await Store.AddUserAsync(name, github, admin, Tokens.Hash(token), withKey ? [TestKeys.Ed25519] : [], CancellationToken.None);
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    /// <summary>Drives every worker once at the fake clock's current time, instead of sleeping and hoping the background
    /// loops ran: the lifecycle pass (warnings, expiry, queue limits, purges), a scheduling pass, then every due job until
    /// none is left. After it, "nothing happened" means the workers looked and found nothing to do.</summary>
    public async Task SettleAsync()
    {
        var hosted = Services.GetServices<IHostedService>().ToList();
        await hosted.OfType<LifecycleWorker>().Single().RunOnceAsync(CancellationToken.None);
        await Services.GetRequiredService<SchedulingPass>().RunAsync(CancellationToken.None);
        var jobs = hosted.OfType<JobWorker>().Single();
        for (var i = 0; i < 100 && await jobs.RunOnceAsync(CancellationToken.None); i++)
        {
        }
    }

    /// <summary>The audit entries matching <paramref name="query"/> once <paramref name="complete"/> holds of them (or after
    /// 5 s, as they are then): an entry is written after its response has reached the client, so a test that has its
    /// answers may still be ahead of the last entries.</summary>
    public async Task<IReadOnlyList<AuditEntry>> AuditAsync(AuditQuery query, Func<IReadOnlyList<AuditEntry>, bool> complete)
    {
        var log = Services.GetRequiredService<IAuditLog>();
        IReadOnlyList<AuditEntry> entries = [];
        for (var i = 0; i < 100; i++)
        {
            entries = await log.QueryAsync(query, CancellationToken.None);
            if (complete(entries))
            {
                break;
            }

            await Task.Delay(50);
        }

        return entries;
    }

    public static async Task<ReservationDto> WaitForStatusAsync(HttpClient client, string id, string status)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        ReservationDto? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await client.GetFromJsonAsync(Routes.Reservation(id), GpuDevJsonContext.Default.ReservationDto);
            if (last!.Status == status)
            {
                return last;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"Reservation {id} stayed {last?.Status}, wanted {status}.");
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_keepData)
        {
            return;
        }

        try
        {
            Directory.Delete(_dataDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

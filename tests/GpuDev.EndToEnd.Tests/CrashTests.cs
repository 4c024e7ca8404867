using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using GpuDev.Contracts;

namespace GpuDev.EndToEnd.Tests;

/// <summary>The real server kills itself (SIGKILL) at each named crash step (<c>Server:CrashAt</c>), is started again
/// on the same data without it, and every invariant of <see cref="Invariants"/> must hold within a bounded time.
/// The steps are split over three classes so that xunit runs the groups in parallel (most of a cycle is waiting).</summary>
public abstract class CrashTests
{
    /// <summary>Mirror of GpuDev.Server.Faults.CrashSteps.All; <see cref="CrashSteps_TestListMatchesServer"/> keeps them equal.</summary>
    private static readonly string[] s_steps =
    [
        "after-allocate", "after-ensure", "after-active", "after-cancel-committed", "teardown-after-remove", "teardown-after-release",
        "after-expire-committed", "snapshot-before-record", "after-snapshot",
    ];

    private static readonly TimeSpan s_settle = TimeSpan.FromSeconds(45);

    internal static string[] AllSteps => s_steps;

    /// <summary>Short timings so a crash cycle takes seconds: fast polling, short job leases (a killed worker's job is
    /// claimed again 3 s later).</summary>
    private static Dictionary<string, string> Fast(string? crashAt, bool expireAtOnce = false)
    {
        var environment = new Dictionary<string, string>
        {
            ["GPUDEV_SERVER__POLLINTERVAL"] = "00:00:00.200",
            ["GPUDEV_SERVER__JOBLEASE"] = "00:00:03",
        };
        if (crashAt is not null)
        {
            environment["GPUDEV_SERVER__ENABLEFAULTINJECTION"] = "true";
            environment["GPUDEV_SERVER__CRASHAT"] = crashAt;
        }

        if (expireAtOnce)
        {
            // A 5-minute reservation (the shortest) expires 2 s after it starts; negative grace needs fault injection on.
            environment["GPUDEV_SERVER__ENABLEFAULTINJECTION"] = "true";
            environment["GPUDEV_SERVER__EXPIRYGRACE"] = "-00:04:58";
        }

        return environment;
    }

    protected static async Task CheckStepListAsync()
    {
        var dataDir = Directory.CreateTempSubdirectory("gpu-dev-e2e-steps-").FullName;
        try
        {
            var result = await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["run", "--data-dir", dataDir, "--urls", "http://127.0.0.1:0", "--local-gpus", "h100:1"],
                new Dictionary<string, string> { ["GPUDEV_SERVER__ENABLEFAULTINJECTION"] = "true", ["GPUDEV_SERVER__CRASHAT"] = "nowhere" });
            var refusedWithout = await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["run", "--data-dir", dataDir, "--urls", "http://127.0.0.1:0", "--local-gpus", "h100:1"],
                new Dictionary<string, string> { ["GPUDEV_SERVER__CRASHAT"] = "after-allocate" });

            Assert.NotEqual(0, result.ExitCode);
            var valid = (result.Stdout + result.Stderr).Split("valid: ")[1].Split('.')[0].Split(", ");
            Assert.Equal(s_steps, valid);
            Assert.NotEqual(0, refusedWithout.ExitCode);
            Assert.Contains("EnableFaultInjection", refusedWithout.Stdout + refusedWithout.Stderr, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    protected static async Task RunAsync(string step)
    {
        var work = Directory.CreateTempSubdirectory("gpu-dev-e2e-crash-").FullName;
        var key = Path.Combine(work, "id_ed25519");
        E2e.Check(await Proc.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]));
        var expiry = step == "after-expire-committed";
        var withDisk = step is "snapshot-before-record" or "after-snapshot";
        var server = await ServerProcess.StartAsync("h100:4", environment: Fast(step, expiry));
        var dataDir = server.DataDir;
        try
        {
            var token = E2e.Check(await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", "crash", "--admin", "--ssh-key", key + ".pub", "--data-dir", dataDir])).Stdout.Trim();
            using var http = Client(server.Url, token);
            if (withDisk)
            {
                (await http.PostAsJsonAsync(Routes.Disks, new CreateDiskRequest("work"), GpuDevJsonContext.Default.CreateDiskRequest)).EnsureSuccessStatusCode();
            }

            var request = new CreateReservationRequest { GpuType = "h100", GpuCount = 2, Hours = expiry ? 0.0833 : 1, Disk = withDisk ? "work" : null };
            var created = await TryAsync(async () => await (await http.PostAsJsonAsync(Routes.Reservations, request, GpuDevJsonContext.Default.CreateReservationRequest))
                .Content.ReadFromJsonAsync(GpuDevJsonContext.Default.ReservationDto));
            if (step is "after-cancel-committed" or "teardown-after-remove" or "teardown-after-release" || withDisk)
            {
                await WaitActiveAsync(http, created!.Id);
                await TryAsync(() => http.DeleteAsync(Routes.Reservation(created.Id)));
            }

            var exit = await server.WaitExitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal(137, exit);
            Assert.Contains("gpu-dev-server: injected crash at " + step, server.Log, StringComparison.Ordinal);

            server = await ServerProcess.StartAsync("h100:4", dataDir, environment: Fast(null));
            await Invariants.AssertSettledAsync(server, s_settle, withDisk ? 1 : null);
            var expected = step switch
            {
                "after-allocate" or "after-ensure" or "after-active" => "active",
                "after-expire-committed" => "expired",
                _ => "cancelled",
            };
            var (id, status) = (await Invariants.ReservationsAsync(server)).Single();
            Assert.Equal(expected, status);

            // Whatever survived can still be ended cleanly.
            using var after = Client(server.Url, token);
            if (expected == "active")
            {
                (await after.DeleteAsync(Routes.Reservation(id))).EnsureSuccessStatusCode();
                await Invariants.AssertSettledAsync(server, s_settle);
            }

            await server.WaitNoEnvironmentsAsync();
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException($"{step}: {e.Message}\n--- server log ---\n{server.Log}", e);
        }
        finally
        {
            await server.DisposeAsync();
            Directory.Delete(work, recursive: true);
        }
    }

    private static HttpClient Client(string url, string token)
    {
        var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>A call the server may die in the middle of: its failure is expected, the test goes on.</summary>
    private static async Task<T?> TryAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (HttpRequestException)
        {
            return default;
        }
    }

    private static async Task WaitActiveAsync(HttpClient http, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var shown = await http.GetFromJsonAsync(Routes.Reservation(id), GpuDevJsonContext.Default.ReservationDto);
            if (shown!.Status == "active")
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"{id} never became active");
    }
}

/// <summary>Crash steps on the way to active.</summary>
public sealed class ProvisionCrashTests : CrashTests
{
    public static TheoryData<string> Steps() => ["after-allocate", "after-ensure", "after-active"];

    [Theory]
    [MemberData(nameof(Steps))]
    public Task Crash_AtStep_RestartSettlesWithInvariants(string step) => RunAsync(step);
}

/// <summary>Crash steps of cancel and teardown.</summary>
public sealed class TeardownCrashTests : CrashTests
{
    public static TheoryData<string> Steps() => ["after-cancel-committed", "teardown-after-remove", "teardown-after-release"];

    [Theory]
    [MemberData(nameof(Steps))]
    public Task Crash_AtStep_RestartSettlesWithInvariants(string step) => RunAsync(step);
}

/// <summary>Crash steps of expiry and of the disk snapshot at teardown.</summary>
public sealed class ExpiryAndDiskCrashTests : CrashTests
{
    public static TheoryData<string> Steps() => ["after-expire-committed", "snapshot-before-record", "after-snapshot"];

    [Theory]
    [MemberData(nameof(Steps))]
    public Task Crash_AtStep_RestartSettlesWithInvariants(string step) => RunAsync(step);

    [Fact]
    public void Groups_CoverEveryStep() =>
        Assert.Equal(AllSteps.Order(), ProvisionCrashTests.Steps().Concat(TeardownCrashTests.Steps()).Concat(Steps()).Select(r => r.Data).Order());

    /// <summary>The test's step list is the server's (read from the error that names the valid steps), and CrashAt is
    /// refused without EnableFaultInjection.</summary>
    [Fact]
    public Task CrashSteps_TestListMatchesServer() => CheckStepListAsync();
}

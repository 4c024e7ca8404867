using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.EndToEnd.Tests;

/// <summary><c>./quickstart.sh</c> of this repository, run twice as a user would, on its own port, run directory, home and
/// configuration: the second run neither rebuilds nor reserves again, it prints the reservation the first one made.</summary>
public sealed class QuickstartTests
{
    private static readonly string[] s_sources = ["src", "Directory.Build.props", "Directory.Packages.props", "build.sh", "global.json", "gpu-dev.slnx"];

    [Fact]
    public async Task SecondRun_NoRebuild_NoSecondReservation_PrintsTheExistingOne()
    {
        // quickstart.sh rebuilds bin/ when a source is newer: under the other end-to-end tests, which run bin/, it must not.
        var stale = StaleSource();
        TestSkips.SkipWhen(stale is not null, $"quickstart: {stale} is newer than bin/ (run ./build.sh first; ./test.sh does)");

        var work = Directory.CreateTempSubdirectory("gpu-dev-e2e-quickstart-").FullName;
        var url = $"http://127.0.0.1:{ServerProcess.FreePort()}";
        var stateDir = Path.Combine("/var/lib/gpu-dev-tests", Path.GetFileName(work));
        var environment = new Dictionary<string, string>
        {
            ["GPU_DEV_QUICKSTART_URL"] = url,
            ["GPU_DEV_QUICKSTART_DIR"] = Path.Combine(work, "run"),
            ["HOME"] = Path.Combine(work, "home"),
            ["XDG_CONFIG_HOME"] = Path.Combine(work, "config"),
            ["GPU_DEV_HOME"] = Path.Combine(work, "gpu-dev-home"),
            ["GPUDEV_LOCALHOST__STATEDIR"] = Environment.IsPrivilegedProcess ? stateDir : Path.Combine(work, "run", "data", "local"),
            ["NO_COLOR"] = "1",
        };
        Directory.CreateDirectory(environment["HOME"]);
        var quickstart = Path.Combine(ServerProcess.RepoRoot, "quickstart.sh");
        string? id = null;
        try
        {
            var first = await E2e.CheckAsync(Proc.RunAsync(quickstart, [], environment, TimeSpan.FromMinutes(5)));
            var pid = await File.ReadAllTextAsync(Path.Combine(work, "run", "server.pid"));
            var second = await E2e.CheckAsync(Proc.RunAsync(quickstart, [], environment, TimeSpan.FromMinutes(2)));

            var cli = new E2e.Cli(url, (await File.ReadAllTextAsync(Path.Combine(work, "run", "token"))).Trim(), Path.Combine(work, "config", "gpu-dev"));
            var live = JsonSerializer.Deserialize((await E2e.CheckAsync(cli.RunAsync("list", "--json"))).Stdout, GpuDevJsonContext.Default.ListReservationDto)!;
            id = Assert.Single(live).Id;
            Assert.Equal("active", live[0].Status);
            Assert.Contains("bin/gpu-dev and bin/gpu-dev-server are up to date", first.Stdout, StringComparison.Ordinal);
            Assert.Contains($"Reservation {id[..8]} is active", first.Stdout + first.Stderr, StringComparison.Ordinal);
            Assert.Contains("bin/gpu-dev and bin/gpu-dev-server are up to date", second.Stdout, StringComparison.Ordinal);
            Assert.DoesNotContain("building", second.Stdout, StringComparison.Ordinal);
            Assert.Contains($"you already have reservation {id[..8]} (active): not reserving another", second.Stdout, StringComparison.Ordinal);
            Assert.Contains($"gpu-dev connect {id[..8]}", second.Stdout, StringComparison.Ordinal);
            Assert.Equal(pid, await File.ReadAllTextAsync(Path.Combine(work, "run", "server.pid")));

            // The dashboard it points at takes the token it names.
            Assert.Contains($"web dashboard: {url}/ui (sign in with the token in {Path.Combine(work, "run", "token")})", first.Stdout, StringComparison.Ordinal);
            using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
            using var signIn = await browser.PostAsync(new Uri($"{url}/ui/signin"),
                new FormUrlEncodedContent([KeyValuePair.Create("token", (await File.ReadAllTextAsync(Path.Combine(work, "run", "token"))).Trim())]));
            Assert.Equal((System.Net.HttpStatusCode.Redirect, "/ui"), (signIn.StatusCode, signIn.Headers.Location?.OriginalString));
        }
        finally
        {
            await Proc.RunAsync(quickstart, ["stop"], environment);
            if (id is not null)
            {
                await E2e.WaitNoContainersAsync(id);
            }

            foreach (var dir in new[] { work, stateDir })
            {
                try
                {
                    Directory.Delete(dir, recursive: true);
                }
                catch (DirectoryNotFoundException)
                {
                }
            }
        }
    }

    /// <summary>The first source file newer than the older of bin/gpu-dev and bin/gpu-dev-server (quickstart.sh's rule), or null.</summary>
    private static string? StaleSource()
    {
        var root = ServerProcess.RepoRoot;
        var built = new[] { "gpu-dev", "gpu-dev-server" }.Select(b => File.GetLastWriteTimeUtc(ServerProcess.Bin(b))).Min();
        return s_sources.Select(s => Path.Combine(root, s))
            .SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : File.Exists(p) ? [p] : [])
            .FirstOrDefault(f => File.GetLastWriteTimeUtc(f) > built);
    }
}

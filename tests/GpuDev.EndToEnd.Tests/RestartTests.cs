using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.EndToEnd.Tests;

/// <summary>The server is killed (SIGKILL) and started again on the same data: live reservations keep
/// their environments, ended ones lose theirs.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Crash_ThenRestart_KeepsLiveEnvironmentAndCancelStillCleansUp()
    {
        var first = await ServerProcess.StartAsync("h100:8");
        var dataDir = first.DataDir;
        var work = Directory.CreateTempSubdirectory("gpu-dev-e2e-restart-").FullName;
        ServerProcess? second = null;
        try
        {
            var key = Path.Combine(work, "id_ed25519");
            await E2e.CheckAsync(Proc.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]));
            var token = (await E2e.CheckAsync(Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", "crash", "--ssh-key", key + ".pub", "--data-dir", dataDir]))).Stdout.Trim();
            var live = await new E2e.Cli(first.Url, token, Path.Combine(work, "config")).ReserveAsync(4);
            var ended = await new E2e.Cli(first.Url, token, Path.Combine(work, "config")).ReserveAsync(2);
            await E2e.CheckAsync(new E2e.Cli(first.Url, token, Path.Combine(work, "config")).RunAsync("cancel", ended.Id, "--yes"));

            await first.CrashAsync();
            second = await ServerProcess.StartAsync("h100:8", dataDir);
            var cli = new E2e.Cli(second.Url, token, Path.Combine(work, "config"));

            var (gpus, _, home) = await E2e.SshProbeAsync(live, key);
            Assert.Equal(["0", "1", "2", "3"], gpus);
            Assert.Equal("/home/dev", home);
            var shown = JsonSerializer.Deserialize((await E2e.CheckAsync(cli.RunAsync("show", live.Id, "--json"))).Stdout, GpuDevJsonContext.Default.ReservationDto)!;
            Assert.Equal("active", shown.Status);
            var next = await cli.ReserveAsync(4);
            Assert.Empty(next.Nodes.Single().GpuIndices.Intersect(live.Nodes.Single().GpuIndices));

            await E2e.CheckAsync(cli.RunAsync("cancel", "--all", "--yes"));
            await second.WaitNoEnvironmentsAsync();
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\n--- server log ---\n{second?.Log ?? first.Log}", e);
        }
        finally
        {
            if (second is not null)
            {
                await second.DisposeAsync();
            }
            else
            {
                await first.DisposeAsync();
            }

            Directory.Delete(work, recursive: true);
        }
    }
}

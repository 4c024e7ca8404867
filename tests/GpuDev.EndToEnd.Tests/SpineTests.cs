using System.Net.Sockets;
using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.EndToEnd.Tests;

/// <summary>The real server, the real CLI and the real OpenSSH: reserve, ssh in, cancel, everything gone.</summary>
public sealed class SpineTests
{
    [Fact]
    public async Task Reserve_TwoReservations_SshIntoEachThenCancelFreesEverything()
    {
        await using var server = await ServerProcess.StartAsync("h100:8");
        var work = Directory.CreateTempSubdirectory("gpu-dev-e2e-client-").FullName;
        try
        {
            var key = Path.Combine(work, "id_ed25519");
            Check(await Proc.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", key]));
            var token = Check(await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", "e2e", "--ssh-key", key + ".pub", "--data-dir", server.DataDir])).Stdout.Trim();
            Assert.StartsWith("gdt_", token, StringComparison.Ordinal);
            var cli = new Cli(server.Url, token, Path.Combine(work, "config"));

            var first = await cli.ReserveAsync(2);
            var second = await cli.ReserveAsync(2);
            var (firstGpus, firstUid, firstHome) = await SshProbeAsync(first, key);
            var (secondGpus, secondUid, _) = await SshProbeAsync(second, key);

            Assert.Equal(2, firstGpus.Length);
            Assert.Equal(2, firstGpus.Distinct().Count());
            Assert.Empty(firstGpus.Intersect(secondGpus));
            Assert.Equal(first.Nodes.Single().GpuIndices.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), firstGpus);
            Assert.NotEqual("0", firstUid);
            Assert.Equal("/home/dev", firstHome);
            if (Environment.UserName == "root")
            {
                Assert.NotEqual(firstUid, secondUid);
            }

            var shown = JsonDocument.Parse(Check(await cli.RunAsync("show", first.Id[..8], "--json")).Stdout).RootElement;
            foreach (var field in new[] { "id", "createdAt", "status", "gpuType", "gpuCount", "ssh", "expiresAt", "queuePosition", "estimatedStartAt", "waitReason", "history" })
            {
                Assert.True(shown.TryGetProperty(field, out _), $"show --json lacks '{field}'");
            }

            Check(await cli.RunAsync("cancel", first.Id[..8], "--yes"));
            Check(await cli.RunAsync("cancel", second.Id, "--yes"));
            await WaitClosedAsync(first.Ssh!.Port);
            await WaitClosedAsync(second.Ssh!.Port);
            await WaitNoProcessesAsync(firstUid);
            await WaitNoProcessesAsync(secondUid);

            var whole = await cli.ReserveAsync(8);
            Assert.Equal(Enumerable.Range(0, 8), whole.Nodes.Single().GpuIndices);
            Check(await cli.RunAsync("cancel", whole.Id, "--yes"));
            await WaitClosedAsync(whole.Ssh!.Port);
            var all = JsonSerializer.Deserialize(Check(await cli.RunAsync("list", "--all", "--json")).Stdout, GpuDevJsonContext.Default.ListReservationDto)!;
            Assert.Equal(3, all.Count);
            Assert.All(all, r => Assert.Equal("cancelled", r.Status));
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\n--- server log ---\n{server.Log}", e);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Theory]
    [InlineData("-g 3", "1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 48")]
    [InlineData("-g 1 -h 30", "between 0.0833")]
    [InlineData("-t cpu-x86 -g 2", "CPU-only")]
    [InlineData("-g 16", "--distributed")]
    public async Task Reserve_BrokenRule_OneLineErrorAndNothingCreated(string options, string expected)
    {
        await using var server = await ServerProcess.StartAsync("h100:8");
        var token = Check(await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", "e2e", "--data-dir", server.DataDir])).Stdout.Trim();
        var cli = new Cli(server.Url, token, Path.Combine(server.DataDir, "client"));
        var args = new List<string> { "reserve", "--no-interactive" };
        if (!options.Contains("-t ", StringComparison.Ordinal))
        {
            args.AddRange(["-t", "h100"]);
        }

        args.AddRange(options.Split(' '));

        var result = await cli.RunAsync([.. args]);
        var list = Check(await cli.RunAsync("list", "--all", "--json"));

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Equal("[]", list.Stdout.Trim());
    }

    private static async Task<(string[] Gpus, string Uid, string Home)> SshProbeAsync(ReservationDto reservation, string key)
    {
        var ssh = reservation.Ssh!;
        var result = Check(await Proc.RunAsync("ssh",
        [
            "-i", key, "-p", ssh.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", $"{ssh.User}@{ssh.Host}", "echo $CUDA_VISIBLE_DEVICES; id -u; echo $HOME",
        ]));
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return (lines[0].Split(','), lines[1], lines[2]);
    }

    private static async Task WaitClosedAsync(int port)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
            }
            catch (SocketException)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"port {port} still answers after cancel");
            await Task.Delay(100);
        }
    }

    private static async Task WaitNoProcessesAsync(string uid)
    {
        if (Environment.UserName != "root")
        {
            return;
        }

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await Proc.RunAsync("pgrep", ["-u", uid])).ExitCode == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"processes of uid {uid} remain after cancel");
            await Task.Delay(100);
        }
    }

    private static Proc.Result Check(Proc.Result result)
    {
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\nstdout: {result.Stdout}\nstderr: {result.Stderr}");
        return result;
    }

    private sealed class Cli(string url, string token, string configDir)
    {
        public Task<Proc.Result> RunAsync(params string[] args) =>
            Proc.RunAsync(ServerProcess.Bin("gpu-dev"), args, new Dictionary<string, string>
            {
                ["GPU_DEV_SERVER"] = url,
                ["GPU_DEV_TOKEN"] = token,
                ["GPU_DEV_CONFIG_DIR"] = configDir,
                ["NO_COLOR"] = "1",
            });

        public async Task<ReservationDto> ReserveAsync(int gpus)
        {
            var result = Check(await RunAsync("reserve", "-t", "h100", "-g", gpus.ToString(System.Globalization.CultureInfo.InvariantCulture), "-h", "1", "--no-interactive", "--json"));
            var reservation = JsonSerializer.Deserialize(result.Stdout, GpuDevJsonContext.Default.ReservationDto)!;
            Assert.Equal("active", reservation.Status);
            Assert.NotNull(reservation.Ssh);
            return reservation;
        }
    }
}

using System.Net.Sockets;
using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.EndToEnd.Tests;

/// <summary>Helpers shared by the end-to-end tests: the real CLI, real ssh, waits.</summary>
internal static class E2e
{
    public static async Task<Proc.Result> CheckAsync(Task<Proc.Result> run) => Check(await run);

    /// <summary>In the reservation: its host GPU indices, its host name (one container per reservation node), its home.</summary>
    public static async Task<(string[] Gpus, string Host, string Home)> SshProbeAsync(ReservationDto reservation, string key)
    {
        var ssh = reservation.Ssh!;
        var result = Check(await Proc.RunAsync("ssh",
        [
            "-i", key, "-p", ssh.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", $"{ssh.User}@{ssh.Host}", "echo $GPU_DEV_GPUS; hostname; echo $HOME",
        ]));
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return (lines[0].Split(','), lines[1], lines[2]);
    }

    public static async Task WaitClosedAsync(int port)
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

    /// <summary>Waits until no container of the reservation is left (podman, found by its label).</summary>
    public static async Task WaitNoContainersAsync(string reservationId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await Proc.RunAsync("podman", ["ps", "-a", "-q", "--filter", "label=gpu-dev.io/reservation=" + reservationId])).Stdout.Trim().Length > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, $"containers of {reservationId} remain after cancel");
            await Task.Delay(100);
        }
    }

    public static Proc.Result Check(Proc.Result result)
    {
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}\nstdout: {result.Stdout}\nstderr: {result.Stderr}");
        return result;
    }

    public sealed class Cli(string url, string token, string configDir, IReadOnlyDictionary<string, string>? extraEnvironment = null)
    {
        public Task<Proc.Result> RunAsync(params string[] args)
        {
            var environment = new Dictionary<string, string>(extraEnvironment ?? new Dictionary<string, string>())
            {
                ["GPU_DEV_SERVER"] = url,
                ["GPU_DEV_TOKEN"] = token,
                ["GPU_DEV_CONFIG_DIR"] = configDir,
                ["NO_COLOR"] = "1",
            };
            return Proc.RunAsync(ServerProcess.Bin("gpu-dev"), args, environment);
        }

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

using System.Globalization;
using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.EndToEnd.Tests;

/// <summary>Named disks through the real binaries: data written in one reservation is there in the next, a snapshot
/// lists it, and killing the server at random points never loses it.</summary>
public sealed class DiskTests
{
    /// <summary>Cycles of the crash test: GPU_DEV_DISK_CYCLES (bench/disk-cycles.sh runs 100); a few in CI.</summary>
    private static int Cycles => int.TryParse(Environment.GetEnvironmentVariable("GPU_DEV_DISK_CYCLES"), out var n) && n > 0 ? n : 4;

    [Fact]
    public async Task Disk_WriteCancelReserveAgain_FileSurvivesServerCrashes()
    {
        var work = Directory.CreateTempSubdirectory("gpu-dev-e2e-disk-").FullName;
        var key = Path.Combine(work, "id_ed25519");
        E2e.Check(await Proc.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]));
        var server = await ServerProcess.StartAsync("h100:8");
        var dataDir = server.DataDir;
        var random = new Random(11);
        var log = new List<string>();
        try
        {
            var token = E2e.Check(await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", "disk", "--ssh-key", key + ".pub", "--data-dir", dataDir])).Stdout.Trim();
            E2e.Check(await Cli(server, token, work).RunAsync("disk", "create", "work"));
            var expected = "";
            for (var cycle = 0; cycle < Cycles; cycle++)
            {
                var cli = Cli(server, token, work);
                var reservation = Parse(E2e.Check(await cli.RunAsync("reserve", "-t", "h100", "-g", "1", "-h", "1", "--disk", "work", "--no-interactive", "--json")).Stdout);
                var line = $"cycle {cycle} {Guid.NewGuid():N}";
                var output = E2e.Check(await cli.RunAsync("connect", reservation.Id, "--",
                    $"cat ~/data.txt 2>/dev/null | sha256sum; echo '{line}' >> ~/data.txt; sync")).Stdout.Trim();
                Assert.Equal(Sha256(expected), output.Split(' ')[0]);
                expected += line + "\n";

                E2e.Check(await cli.RunAsync("cancel", reservation.Id, "--yes"));
                var crash = random.Next(3);
                if (crash > 0)
                {
                    await Task.Delay(random.Next(0, 400));
                    await server.CrashAsync();
                    log.Add($"cycle {cycle}: server killed {crash}");
                    server = await ServerProcess.StartAsync("h100:8", dataDir);
                }

                await WaitDiskAvailableAsync(Cli(server, token, work));
            }

            var content = E2e.Check(await Cli(server, token, work).RunAsync("disk", "list-content", "work")).Stdout;
            var disk = JsonSerializer.Deserialize(E2e.Check(await Cli(server, token, work).RunAsync("disk", "list", "--json")).Stdout, GpuDevJsonContext.Default.ListDiskDto)!.Single();
            Assert.Contains("data.txt", content, StringComparison.Ordinal);
            Assert.Equal(Math.Min(Cycles, 10), disk.SnapshotCount); // Disks:KeepSnapshots defaults to 10
            Assert.Equal("available", disk.Status);
            await server.WaitNoEnvironmentsAsync();
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\n{string.Join('\n', log)}\n--- server log ---\n{server.Log}", e);
        }
        finally
        {
            await server.DisposeAsync();
            Directory.Delete(work, recursive: true);
        }
    }

    private static E2e.Cli Cli(ServerProcess server, string token, string work) =>
        new(server.Url, token, Path.Combine(work, "config"), new Dictionary<string, string>
        {
            ["GPU_DEV_SSH"] = WrapperFor(work),
            ["GPU_DEV_HOME"] = Path.Combine(work, "gpu-dev-home"),
        });

    private static string WrapperFor(string work)
    {
        var path = Path.Combine(work, "ssh-with-key");
        if (!File.Exists(path))
        {
            File.WriteAllText(path, $"#!/bin/sh\nexec ssh -i '{Path.Combine(work, "id_ed25519")}' -o BatchMode=yes -o LogLevel=ERROR \"$@\"\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }

    private static async Task WaitDiskAvailableAsync(E2e.Cli cli)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (true)
        {
            var disks = JsonSerializer.Deserialize(E2e.Check(await cli.RunAsync("disk", "list", "--json")).Stdout, GpuDevJsonContext.Default.ListDiskDto)!;
            if (disks.Single().Status == "available")
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"disk stayed {disks.Single().Status}");
            await Task.Delay(200);
        }
    }

    private static string Sha256(string text) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)));

    private static ReservationDto Parse(string json) => JsonSerializer.Deserialize(json, GpuDevJsonContext.Default.ReservationDto)!;
}

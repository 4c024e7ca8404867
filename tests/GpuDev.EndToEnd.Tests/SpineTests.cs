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
            E2e.Check(await Proc.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "e2e", "-f", key]));
            var token = E2e.Check(await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", "e2e", "--ssh-key", key + ".pub", "--data-dir", server.DataDir])).Stdout.Trim();
            Assert.StartsWith("gdt_", token, StringComparison.Ordinal);
            var cli = new E2e.Cli(server.Url, token, Path.Combine(work, "config"));

            var first = await cli.ReserveAsync(2);
            var second = await cli.ReserveAsync(2);
            var (firstGpus, firstHost, firstHome) = await E2e.SshProbeAsync(first, key);
            var (secondGpus, secondHost, _) = await E2e.SshProbeAsync(second, key);

            Assert.Equal(2, firstGpus.Length);
            Assert.Equal(2, firstGpus.Distinct().Count());
            Assert.Empty(firstGpus.Intersect(secondGpus));
            Assert.Equal(first.Nodes.Single().GpuIndices.Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), firstGpus);
            Assert.Equal("/home/dev", firstHome);
            Assert.NotEqual(firstHost, secondHost);

            var shown = JsonDocument.Parse(E2e.Check(await cli.RunAsync("show", first.Id[..8], "--json")).Stdout).RootElement;
            foreach (var field in new[] { "id", "createdAt", "status", "gpuType", "gpuCount", "ssh", "expiresAt", "queuePosition", "estimatedStartAt", "waitReason", "history" })
            {
                Assert.True(shown.TryGetProperty(field, out _), $"show --json lacks '{field}'");
            }

            E2e.Check(await cli.RunAsync("cancel", first.Id[..8], "--yes"));
            E2e.Check(await cli.RunAsync("cancel", second.Id, "--yes"));
            await E2e.WaitClosedAsync(first.Ssh!.Port);
            await E2e.WaitClosedAsync(second.Ssh!.Port);
            await E2e.WaitNoContainersAsync(first.Id);
            await E2e.WaitNoContainersAsync(second.Id);

            var whole = await cli.ReserveAsync(8);
            Assert.Equal(Enumerable.Range(0, 8), whole.Nodes.Single().GpuIndices);
            E2e.Check(await cli.RunAsync("cancel", whole.Id, "--yes"));
            await E2e.WaitClosedAsync(whole.Ssh!.Port);
            var all = JsonSerializer.Deserialize(E2e.Check(await cli.RunAsync("list", "--all", "--json")).Stdout, GpuDevJsonContext.Default.ListReservationDto)!;
            Assert.Equal(3, all.Count);
            Assert.All(all, r => Assert.Equal("cancelled", r.Status));
            await server.WaitNoEnvironmentsAsync();
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
        var token = E2e.Check(await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", "e2e", "--data-dir", server.DataDir])).Stdout.Trim();
        var cli = new E2e.Cli(server.Url, token, Path.Combine(server.DataDir, "client"));
        var args = new List<string> { "reserve", "--no-interactive" };
        if (!options.Contains("-t ", StringComparison.Ordinal))
        {
            args.AddRange(["-t", "h100"]);
        }

        args.AddRange(options.Split(' '));

        var result = await cli.RunAsync([.. args]);
        var list = E2e.Check(await cli.RunAsync("list", "--all", "--json"));

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Equal("[]", list.Stdout.Trim());
    }
}

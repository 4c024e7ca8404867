using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.EndToEnd.Tests;

/// <summary>Custom images on the local provider, through the real CLI and server: <c>--dockerfile</c> with its directory as the
/// build context (uploaded, built with podman, steps noted in the history, the image removed with the reservation), and
/// <c>--dockerimage</c> of an image this host has.</summary>
public sealed class ImageTests
{
    [Fact]
    public async Task Dockerfile_WithItsContext_BuildsStepsInHistory_RunsIt_CancelRemovesTheImage()
    {
        await WithServerAsync(async (server, cli, key, work) =>
        {
            var project = Directory.CreateDirectory(Path.Combine(work, "project")).FullName;
            await File.WriteAllTextAsync(Path.Combine(project, "hello.txt"), "from the build context\n");
            await File.WriteAllTextAsync(Path.Combine(project, "Dockerfile"),
                "FROM localhost/gpu-dev/devbox:latest\nCOPY hello.txt /opt/hello.txt\nENV FROM_DOCKERFILE=yes\n");

            var result = E2e.Check(await cli.RunAsync("reserve", "-t", "h100", "-g", "1", "-h", "1", "--no-interactive", "--json", "--dockerfile", Path.Combine(project, "Dockerfile")));
            var reservation = JsonSerializer.Deserialize(result.Stdout, GpuDevJsonContext.Default.ReservationDto)!;
            var inside = await SshAsync(reservation, key, "cat /opt/hello.txt; echo $FROM_DOCKERFILE; id -un");
            var shown = JsonSerializer.Deserialize(E2e.Check(await cli.RunAsync("show", reservation.Id, "--json")).Stdout, GpuDevJsonContext.Default.ReservationDto)!;

            Assert.Equal("active", reservation.Status);
            Assert.Contains("Uploading the build context", result.Stderr, StringComparison.Ordinal);
            Assert.Equal("from the build context\nyes\ndev\n", inside.Stdout);
            Assert.Contains(shown.History!, h => h.Reason.Contains("building the image", StringComparison.Ordinal));
            Assert.Equal(0, (await Proc.RunAsync("podman", ["image", "exists", "localhost/gpu-dev/build:" + reservation.Id])).ExitCode);

            E2e.Check(await cli.RunAsync("cancel", reservation.Id, "--yes"));
            await server.WaitNoEnvironmentsAsync();
            Assert.NotEqual(0, (await Proc.RunAsync("podman", ["image", "exists", "localhost/gpu-dev/build:" + reservation.Id])).ExitCode);

            // A Dockerfile that cannot build fails the reservation with the build's own words.
            await File.WriteAllTextAsync(Path.Combine(project, "Dockerfile"), "FROM localhost/gpu-dev/devbox:latest\nRUN echo broken-step && exit 3\n");
            var broken = await cli.RunAsync("reserve", "-t", "h100", "-g", "1", "-h", "1", "--no-interactive", "--json", "--dockerfile", Path.Combine(project, "Dockerfile"));
            Assert.NotEqual(0, broken.ExitCode);
            Assert.Contains("image build failed", broken.Stdout + broken.Stderr, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task DockerImage_OfThisHost_RunsIt_UnknownImage_FailsWithThePullError()
    {
        await WithServerAsync(async (server, cli, key, work) =>
        {
            var result = E2e.Check(await cli.RunAsync("reserve", "-t", "h100", "-g", "1", "-h", "1", "--no-interactive", "--json", "--dockerimage", "localhost/gpu-dev/devbox:latest"));
            var reservation = JsonSerializer.Deserialize(result.Stdout, GpuDevJsonContext.Default.ReservationDto)!;
            Assert.Equal("devbox\n", (await SshAsync(reservation, key, "echo $GPU_DEV_IMAGE")).Stdout);

            var unknown = await cli.RunAsync("reserve", "-t", "h100", "-g", "1", "-h", "1", "--no-interactive", "--json", "--dockerimage", "localhost/gpu-dev/no-such-image:1");
            Assert.NotEqual(0, unknown.ExitCode);
            Assert.Contains("podman pull localhost/gpu-dev/no-such-image:1 failed", unknown.Stdout + unknown.Stderr, StringComparison.Ordinal);
            E2e.Check(await cli.RunAsync("cancel", "--all", "--yes"));
            await server.WaitNoEnvironmentsAsync();
        });
    }

    /// <summary>A real server on one simulated h100:8 node and a user with a key; the server log comes with any failure.</summary>
    private static async Task WithServerAsync(Func<ServerProcess, E2e.Cli, string, string, Task> test)
    {
        await using var server = await ServerProcess.StartAsync("h100:8", privateUmask: true);
        var work = Directory.CreateTempSubdirectory("gpu-dev-e2e-image-").FullName;
        try
        {
            var key = Path.Combine(work, "id_ed25519");
            E2e.Check(await Proc.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]));
            var token = E2e.Check(await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", "img", "--ssh-key", key + ".pub", "--data-dir", server.DataDir])).Stdout.Trim();
            await test(server, new E2e.Cli(server.Url, token, Path.Combine(work, "config")), key, work);
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

    private static async Task<Proc.Result> SshAsync(ReservationDto reservation, string key, string command) =>
        E2e.Check(await Proc.RunAsync("ssh",
        [
            "-i", key, "-p", reservation.Ssh!.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", $"{reservation.Ssh.User}@{reservation.Ssh.Host}", command,
        ]));
}

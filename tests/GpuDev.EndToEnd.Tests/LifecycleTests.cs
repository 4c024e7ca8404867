using System.Text.Json;
using GpuDev.Contracts;

namespace GpuDev.EndToEnd.Tests;

/// <summary>Expiry warning into an open terminal, extension, added users and the ssh alias, with real sshd.</summary>
public sealed class LifecycleTests
{
    [Fact]
    public async Task ShortReservation_WarnedInOpenSession_ExtendedOnce_AddedUserConnectsButCannotCancel()
    {
        var work = Directory.CreateTempSubdirectory("gpu-dev-e2e-life-").FullName;
        var ownerKey = Path.Combine(work, "owner");
        var guestKey = Path.Combine(work, "guest");
        E2e.Check(await Proc.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", ownerKey]));
        E2e.Check(await Proc.RunAsync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", guestKey]));
        using var keys = new KeysServer(new() { ["guest-gh"] = await File.ReadAllTextAsync(guestKey + ".pub") });
        await using var server = await ServerProcess.StartAsync("h100:8", keysUrl: keys.Url);
        var tmux = $"gpu-dev-e2e-{Guid.NewGuid():N}"; // its own tmux server (-L), so nothing else on the machine can disturb it
        try
        {
            var ownerToken = E2e.Check(await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", "owner", "--ssh-key", ownerKey + ".pub", "--data-dir", server.DataDir])).Stdout.Trim();
            var guestToken = E2e.Check(await Proc.RunAsync(ServerProcess.Bin("gpu-dev-server"), ["user", "add", "guest", "--github", "guest-gh", "--data-dir", server.DataDir])).Stdout.Trim();
            var home = Path.Combine(work, "home");
            Directory.CreateDirectory(home);

            // Not under $HOME, so the Include line is absolute: ssh expands ~ from the passwd entry, not from $HOME.
            var gpuDevHome = Path.Combine(work, "owner-gpu-dev");
            var ownerEnv = new Dictionary<string, string> { ["HOME"] = home, ["GPU_DEV_HOME"] = gpuDevHome, ["GPU_DEV_SSH"] = SshWrapper(work, "owner-ssh", ownerKey) };
            var owner = new E2e.Cli(server.Url, ownerToken, Path.Combine(work, "owner-config"), ownerEnv);
            var guest = new E2e.Cli(server.Url, guestToken, Path.Combine(work, "guest-config"),
                new Dictionary<string, string> { ["HOME"] = work, ["GPU_DEV_HOME"] = Path.Combine(work, "guest-gpu-dev"), ["GPU_DEV_SSH"] = SshWrapper(work, "guest-ssh", guestKey) });

            var reservation = Parse(E2e.Check(await owner.RunAsync("reserve", "-t", "h100", "-g", "1", "-h", "0.1", "--no-interactive", "--json")).Stdout);
            var ssh = reservation.Ssh!;
            E2e.Check(await Proc.RunAsync("tmux", ["-L", tmux, "new-session", "-d", "-s", tmux, "-x", "200", "-y", "50",
                $"ssh -tt -i {ownerKey} -p {ssh.Port} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null {ssh.User}@{ssh.Host} 'echo session-open; sleep 600'"]));
            await WaitForScreenAsync(tmux, "session-open", TimeSpan.FromSeconds(20));
            var screen = await WaitForScreenAsync(tmux, "expires in 5 minutes", TimeSpan.FromSeconds(120));
            var warningFile = E2e.Check(await owner.RunAsync("connect", reservation.Id, "--", "cat ~/EXPIRES_IN_5_MIN")).Stdout;

            var extended = Parse(E2e.Check(await owner.RunAsync("edit", reservation.Id, "--extend", "1", "--json")).Stdout);
            var filesAfter = E2e.Check(await owner.RunAsync("connect", reservation.Id, "--", "ls -a ~")).Stdout;
            var again = await owner.RunAsync("edit", reservation.Id, "--extend", "1");

            Assert.Contains("*** gpu-dev: reservation", screen, StringComparison.Ordinal);
            Assert.Contains("expires in 5 minutes", warningFile, StringComparison.Ordinal);
            Assert.Equal(reservation.ExpiresAt!.Value.AddHours(1), extended.ExpiresAt);
            Assert.DoesNotContain("EXPIRES_IN_", filesAfter, StringComparison.Ordinal);
            Assert.Equal(1, again.ExitCode);
            Assert.Contains("can be extended once", again.Stderr, StringComparison.Ordinal);

            E2e.Check(await owner.RunAsync("edit", reservation.Id, "--add-user", "guest-gh"));
            var guestRuns = E2e.Check(await guest.RunAsync("connect", reservation.Id[..8], "--", "echo guest-in; id -u")).Stdout;
            var guestCancels = await guest.RunAsync("cancel", reservation.Id, "--yes");
            Assert.StartsWith("guest-in", guestRuns, StringComparison.Ordinal);
            Assert.Equal(4, guestCancels.ExitCode);
            Assert.Equal("active", Parse(E2e.Check(await owner.RunAsync("show", reservation.Id, "--json")).Stdout).Status);

            E2e.Check(await owner.RunAsync("config", "ssh-include", "enable"));
            var config = await File.ReadAllTextAsync(Path.Combine(home, ".ssh", "config"));
            Assert.Contains($"Include {gpuDevHome}/*-sshconfig", config, StringComparison.Ordinal);
            var alias = E2e.Check(await Proc.RunAsync("ssh", ["-F", Path.Combine(home, ".ssh", "config"), "-i", ownerKey, "-o", "BatchMode=yes",
                $"gpu-dev-{reservation.Id[..8]}", "echo alias-works"])).Stdout;
            Assert.Equal("alias-works", alias.Trim());

            E2e.Check(await owner.RunAsync("cancel", reservation.Id, "--yes"));
            await server.WaitNoEnvironmentsAsync();
            Assert.False(File.Exists(Path.Combine(gpuDevHome, $"{reservation.Id}-sshconfig")));
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{e.Message}\n--- server log ---\n{server.Log}", e);
        }
        finally
        {
            await Proc.RunAsync("tmux", ["-L", tmux, "kill-server"]);
            Directory.Delete(work, recursive: true);
        }
    }

    private static string SshWrapper(string dir, string name, string key)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, $"#!/bin/sh\nexec ssh -i '{key}' -o BatchMode=yes -o LogLevel=ERROR \"$@\"\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static async Task<string> WaitForScreenAsync(string session, string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var screen = "";
        while (DateTime.UtcNow < deadline)
        {
            screen = (await Proc.RunAsync("tmux", ["-L", session, "capture-pane", "-p", "-t", session, "-S", "-200"])).Stdout;
            if (screen.Contains(text, StringComparison.Ordinal))
            {
                return screen;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"'{text}' did not appear in the terminal; it shows:\n{screen}");
    }

    private static ReservationDto Parse(string json) => JsonSerializer.Deserialize(json, GpuDevJsonContext.Default.ReservationDto)!;
}

using System.Globalization;
using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost.Tests;

/// <summary>Two environments, A and B, on the real sshd + bubblewrap sandbox. From inside A's ssh session nothing of
/// B, the server or the provider is reachable, and A writes only to its home, shared dirs and a private /tmp.</summary>
public sealed class SandboxEscapeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FromInsideA_BAndServerAndHostAreOutOfReach()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        if (!File.Exists("/usr/bin/bwrap"))
        {
            Assert.Skip("The sandbox escape checks need bubblewrap at /usr/bin/bwrap.");
        }

        var provider = fx.CreateProvider();
        var (idA, idB) = (LocalHostFixture.NewId(), LocalHostFixture.NewId());
        var a = await provider.EnsureEnvironmentAsync(fx.Spec(idA, 0, 1), Ct);
        var b = await provider.EnsureEnvironmentAsync(fx.Spec(idB, 2, 3), Ct);
        Assert.True(a.State == EnvironmentState.Ready && b.State == EnvironmentState.Ready, $"{a.Message} {b.Message}");
        var secret = await fx.SshAsync(b.Ssh!, "echo b-secret > ~/secret.txt; chmod 644 ~/secret.txt; echo ok");
        Assert.True(secret.Succeeded, secret.Describe("ssh B"));

        // B's session lives while the checks run (a sandbox's processes end with its session).
        var knownHosts = Path.Combine(fx.ClientDir, "known_hosts_b");
        await File.WriteAllTextAsync(knownHosts, $"[{b.Ssh!.Host}]:{b.Ssh.Port} {b.Ssh.HostKey}\n", Ct);
        var sessionInfo = new System.Diagnostics.ProcessStartInfo("ssh") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
        {
            "-F", "/dev/null", "-i", fx.ClientKey, "-p", b.Ssh.Port.ToString(CultureInfo.InvariantCulture), "-o", "UserKnownHostsFile=" + knownHosts,
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", $"{b.Ssh.User}@{b.Ssh.Host}", "exec sleep 300",
        })
        {
            sessionInfo.ArgumentList.Add(arg);
        }

        using var session = System.Diagnostics.Process.Start(sessionInfo)!;
        await File.WriteAllTextAsync(Path.Combine(fx.DataDir, "server-secret.txt"), "server-secret", Ct);
        var bHomeHost = Path.Combine(fx.StateDir, "envs", idB, "home");
        var bPid = await HostPidOfAsync(b.Ssh!.User, "sleep");
        var bUid = (await ProcessRunner.RunAsync("id", ["-u", b.Ssh.User], TimeSpan.FromSeconds(5), CancellationToken.None)).StdOut.Trim();
        var hostTmpMarker = "gpu-dev-escape-" + Guid.NewGuid().ToString("N")[..8];

        // (what is checked, command run in A, must succeed?)
        (string Check, string Command, bool Succeeds)[] checks =
        [
            ("A can read its own home (the checks below are real)", "echo mine > ~/own.txt && cat ~/own.txt", true),
            ("cannot read B's home by its host path", $"cat {bHomeHost}/secret.txt", false),
            ("cannot list B's home by its host path", $"ls {bHomeHost} | grep -q secret", false),
            ("cannot reach B's files through /proc of B's process", $"cat /proc/{bPid}/root/home/dev/secret.txt", false),
            ("cannot see B's process in /proc", $"test -e /proc/{bPid}", false),
            ("cannot signal B's process (kill -0)", $"kill -0 {bPid}", false),
            ("sees no process of B's user", $"ps -eo user:40,uid | grep -Eqw '{b.Ssh.User}|{bUid}'", false),
            ("cannot find B's files anywhere under /", "timeout 20 grep -rqs b-secret /home /var/lib /srv /opt /mnt /root", false),
            ("cannot read the server's data dir", $"cat {fx.DataDir}/server-secret.txt", false),
            ("cannot list the server's data dir", $"ls -A {fx.DataDir} | grep -q .", false),
            ("cannot list the provider's state dir (other environments)", $"ls {fx.StateDir}/envs | grep -q {idB}", false),
            ("cannot write to /etc", "touch /etc/gpu-dev-escape", false),
            ("cannot write to /usr", "touch /usr/gpu-dev-escape", false),
            ("cannot write to /", "touch /gpu-dev-escape", false),
            ("cannot write to /var/lib", "touch /var/lib/gpu-dev-escape", false),
            ("tries to write into B's home path (judged on the host below)", $"mkdir -p {bHomeHost} 2>/dev/null; touch {bHomeHost}/x 2>/dev/null; true", true),
            ("can write to its home", "touch /home/dev/ok", true),
            ("can write to /shared-personal", "touch /shared-personal/ok-" + idA[..8], true),
            ($"writes to /tmp stay private (host /tmp/{hostTmpMarker} must not appear)", $"touch /tmp/{hostTmpMarker}", true),
            ("sees no GPU device nodes on this GPU-less host", "ls /dev | grep -q nvidia", false),
            ("/dev is bubblewrap's minimal set (no disks, no host devices)", "ls /dev | grep -Eq '^(sd|nvme|vd|xvd|loop|mem|kmem|port)'", false),
            ("runs as its own uid, not root", "test $(id -u) -ne 0", true),
        ];
        var failed = new List<string>();
        foreach (var (check, command, succeeds) in checks)
        {
            var result = await fx.SshAsync(a.Ssh!, command);
            if (result.ExitCode == 255 || result.Succeeded != succeeds)
            {
                failed.Add($"{check}: `{command}` exit {result.ExitCode} {result.StdOut} {result.StdErr}");
            }
        }

        session.Kill(entireProcessTree: true);
        var hostTmpClean = !File.Exists(Path.Combine("/tmp", hostTmpMarker));
        var bUntouched = !File.Exists(Path.Combine(bHomeHost, "x"));
        TestContext.Current.TestOutputHelper?.WriteLine($"escape checks passed: {checks.Length - failed.Count + (hostTmpClean ? 1 : 0) + (bUntouched ? 1 : 0)} of {checks.Length + 2}");
        if (!Directory.EnumerateFileSystemEntries("/dev", "nvidia*").Any())
        {
            TestContext.Current.TestOutputHelper?.WriteLine(
                "GPU device isolation (only the allocated /dev/nvidiaN visible) needs a GPU host: the provider binds devices from the host's /dev, " +
                "and creating fake /dev/nvidia* nodes on this shared machine is not safe; here we check that the sandbox exposes none.");
        }

        Assert.Empty(failed);
        Assert.True(hostTmpClean, "A's /tmp write reached the host's /tmp");
        Assert.True(bUntouched, "A wrote into B's home");
    }

    private static async Task<int> HostPidOfAsync(string user, string command)
    {
        for (var i = 0; i < 50; i++)
        {
            var result = await ProcessRunner.RunAsync("pgrep", ["-u", user, "-x", command], TimeSpan.FromSeconds(5), CancellationToken.None);
            if (result.Succeeded && int.TryParse(result.StdOut.Split('\n')[0].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
            {
                return pid;
            }

            await Task.Delay(100);
        }

        throw new InvalidOperationException($"no '{command}' process of {user}");
    }
}

using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost.Tests;

/// <summary>Escape checks for the container environments (docs/RELIABILITY.md, "isolation"): from inside reservation B, with the
/// root that passwordless sudo gives, nothing of reservation A, of the server or of the host is reachable.</summary>
public sealed class IsolationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RootInOneReservation_CannotSeeAnotherReservationsFilesProcessesOrPorts()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var idA = LocalHostFixture.NewId();
        var idB = LocalHostFixture.NewId();
        var a = await provider.EnsureEnvironmentAsync(fx.Spec(idA, 0), Ct);
        var b = await provider.EnsureEnvironmentAsync(fx.Spec(idB, 1) with { Owner = "bob" }, Ct);
        Assert.True(a.State == EnvironmentState.Ready && b.State == EnvironmentState.Ready, $"{a.Message} {b.Message}");
        Assert.True((await fx.SshAsync(a.Ssh!, "echo secret-of-a > ~/secret.txt; nohup sleep 4242 >/dev/null 2>&1 & echo ok")).Succeeded);
        var addressA = await LocalHostProviderTests.Podman(["container", "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", $"gpudev-{idA}-0"]);

        var fromB = await fx.SshAsync(b.Ssh!,
            "sudo grep -rs secret-of-a / --exclude-dir=proc --exclude-dir=sys -l | head -1; echo files-done; " +
            "ps -eo args | grep -c '^sleep 4242'; " +
            $"timeout 4 ssh-keyscan -p {a.Ssh!.Port} 127.0.0.1 2>/dev/null | grep -c ssh-ed25519; " +
            $"timeout 4 ssh-keyscan -p 22 {addressA} 2>/dev/null | grep -c ssh-ed25519; " +
            $"ls {fx.StateDir} {fx.DataDir} 2>&1 | grep -c 'No such file'");

        Assert.Equal(["files-done", "0", "0", "0", "2"], fromB.StdOut.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task RootInAReservation_IsNotHostRoot_HasNoHostDevicesMountsOrNetworkAdmin()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 0), Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");

        var inside = await fx.SshAsync(status.Ssh!,
            "awk '$1 == 0 {print ($2 >= 1000000000) ? \"mapped\" : \"HOST-ROOT\"}' /proc/self/uid_map; " +
            "ls /dev | grep -cE '^(nvidia|vd|sd|nvme|kvm|mem$)' ; " +
            "sudo mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED || echo no-mount; " +
            "sudo ip link add gd0 type dummy 2>/dev/null && echo NETADMIN || echo no-netadmin; " +
            "sudo touch /gpu-dev/keys/x 2>/dev/null && echo KEYS-WRITABLE || echo keys-read-only; " +
            "sudo cat /proc/1/environ >/dev/null && echo own-pid1-ok");

        Assert.Equal(["mapped", "0", "no-mount", "no-netadmin", "keys-read-only", "own-pid1-ok"], inside.StdOut.TrimEnd('\n').Split('\n'));
        var passwd = await ProcessRunner.RunAsync("getent", ["passwd", "gpudev-" + id[..12]], TimeSpan.FromSeconds(5), Ct);
        Assert.Equal(2, passwd.ExitCode);
    }

    [Fact]
    public async Task Ccache_ConfigFromARootOwnedFile_AWrittenCcacheConfInTheCacheChangesNothing()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(LocalHostFixture.NewId(), 0), Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");

        var result = await fx.SshAsync(status.Ssh!,
            "echo 'prefix_command = /tmp/evil' > /ccache/ccache.conf; echo $CCACHE_CONFIGPATH; ccache -k prefix_command; ccache -k cache_dir; " +
            "echo x >> /etc/gpu-dev/ccache.conf 2>/dev/null && echo WRITABLE || echo read-only");

        Assert.Equal(["/etc/gpu-dev/ccache.conf", "", "/ccache", "read-only"], result.StdOut.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task TwoOwners_GetDifferentUidRanges_OneOwnersReservationsShareSharedPersonal()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var alice1 = await provider.EnsureEnvironmentAsync(fx.Spec(LocalHostFixture.NewId(), 0), Ct);
        var alice2 = await provider.EnsureEnvironmentAsync(fx.Spec(LocalHostFixture.NewId(), 1), Ct);
        var bob = await provider.EnsureEnvironmentAsync(fx.Spec(LocalHostFixture.NewId(), 2) with { Owner = "bob" }, Ct);

        Assert.True((await fx.SshAsync(alice1.Ssh!, "echo from-alice-1 > /shared-personal/note; echo ccache > /ccache/alice")).Succeeded);
        var fromAlice2 = await fx.SshAsync(alice2.Ssh!, "cat /shared-personal/note; cat /ccache/alice");
        var fromBob = await fx.SshAsync(bob.Ssh!, "ls -A /shared-personal /ccache | grep -vc ':$' ; awk '$1 == 0 {print $2}' /proc/self/uid_map");
        var aliceBase = (await fx.SshAsync(alice1.Ssh!, "awk '$1 == 0 {print $2}' /proc/self/uid_map")).StdOut.Trim();

        Assert.Equal("from-alice-1\nccache\n", fromAlice2.StdOut);
        var bobLines = fromBob.StdOut.TrimEnd('\n').Split('\n');
        Assert.Equal("1", bobLines[0]); // only the blank line between the two listings
        Assert.NotEqual(aliceBase, bobLines[1]);
    }
}

namespace GpuDev.Compute.LocalHost.Tests;

public sealed class SessionFilesTests
{
    private const string Id = "0123456789abcdef0123456789abcdef";

    [Fact]
    public void BubblewrapCommand_Multinode_AddsHostnameHostsFileSharedAndPasswdHome()
    {
        var node = new EnvironmentLayout("/var/lib/gpu-dev/x", Id, Rank: 1);
        var sandbox = new NodeSandbox(node.Hostname, UnshareUts: true, node.HostsFile, node.Shared);

        var args = SessionFiles.BubblewrapCommand("/usr/bin/bwrap", node, "/sp", ["/var/lib/gpu-dev/x"], [2, 3], unsharePid: true, sandbox);

        Assert.Equal("0123456789ab-1", node.Hostname);
        Assert.Equal("/var/lib/gpu-dev/x/envs/" + Id + "/node-1/home", node.Home);
        Assert.Contains(Window(args, 3), w => w.SequenceEqual(["--unshare-uts", "--hostname", "0123456789ab-1"]));
        Assert.Contains(Window(args, 3), w => w.SequenceEqual(["--ro-bind", "/var/lib/gpu-dev/x/envs/" + Id + "/hosts", "/etc/hosts"]));
        Assert.Contains(Window(args, 3), w => w.SequenceEqual(["--bind", "/var/lib/gpu-dev/x/envs/" + Id + "/shared", "/shared"]));
        Assert.Contains(Window(args, 3), w => w.SequenceEqual(["--bind", node.Home, "/home/dev"]));
        Assert.Contains(Window(args, 3), w => w.SequenceEqual(["--bind", node.Home, "/var/lib/gpu-dev/x/envs/" + Id + "/home"]));
        Assert.True(args.IndexOf("/etc/hosts") > args.IndexOf("/etc"), "the hosts file is bound after /etc");
    }

    [Fact]
    public void BubblewrapCommand_SingleNode_NoHostnameHostsOrShared()
    {
        var layout = new EnvironmentLayout("/var/lib/gpu-dev/x", Id);

        var args = SessionFiles.BubblewrapCommand("/usr/bin/bwrap", layout, "/sp", ["/var/lib/gpu-dev/x"], [0], unsharePid: true);

        Assert.DoesNotContain("--unshare-uts", args);
        Assert.DoesNotContain("/etc/hosts", args);
        Assert.DoesNotContain("/shared", args);
        Assert.Equal(layout.EnvDir, layout.NodeDir);
    }

    [Fact]
    public void SshClientFiles_EveryRankByNameWithPortKeyAndHostKeyAlias()
    {
        var config = SessionFiles.SshClientConfig(Id, [("h-0", 30001), ("h-1", 30002)], "gpudev-0123456789ab");
        var known = SessionFiles.SshKnownHosts([("h-0", "ssh-ed25519 AAAA0"), ("h-1", "ssh-ed25519 AAAA1")]);
        var hosts = SessionFiles.HostsFile(["h-0", "h-1"]);

        Assert.Contains("Host h-1\n    HostName 127.0.0.1\n    Port 30002\n    HostKeyAlias h-1\n    User gpudev-0123456789ab\n    IdentityFile ~/.ssh/id_gpudev\n", config, StringComparison.Ordinal);
        Assert.Contains("StrictHostKeyChecking yes", config, StringComparison.Ordinal);
        Assert.Equal("h-0 ssh-ed25519 AAAA0\nh-1 ssh-ed25519 AAAA1\n", known);
        Assert.Contains("127.0.0.1\tlocalhost\n", hosts, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1\th-0\n127.0.0.1\th-1\n", hosts, StringComparison.Ordinal);
    }

    private static IEnumerable<string[]> Window(List<string> args, int size) =>
        Enumerable.Range(0, Math.Max(0, args.Count - size + 1)).Select(i => args.GetRange(i, size).ToArray());
}

using System.Security.Cryptography;
using System.Text;
using GpuDev.Core.Compute;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDev.Compute.LocalHost.Tests;

/// <summary>A named disk as a reservation's home, in a real container: given to the container's <c>dev</c> (through the owner's
/// uid range) on Ensure, given back to root (never deleted) on Remove, snapshotted through <see cref="LocalHostDiskProvider"/>.</summary>
public sealed class DiskHomeTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task DiskHome_SurvivesRemoval_SnapshotListsIt_NextReservationOwnsIt()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var disks = fx.CreateDiskProvider();
        var diskId = LocalHostFixture.NewId();
        await disks.CreateAsync(diskId, Ct);
        var data = fx.Disks.Store.DataDir(diskId);
        var first = LocalHostFixture.NewId();

        var status = await provider.EnsureEnvironmentAsync(fx.Spec(first, 0) with { DiskId = diskId }, Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        var write = await fx.SshAsync(status.Ssh!, "echo hello > ~/file; sha256sum file; echo $HOME; pwd; stat -c %u ~/file");
        var envDir = Path.Combine(fx.StateDir, "envs", first);

        Assert.True(write.Succeeded, write.Describe("ssh") + " " + write.StdErr);
        var lines = write.StdOut.Split('\n');
        Assert.Equal(Sha256("hello\n") + "  file", lines[0]);
        Assert.Equal(["/home/dev", "/home/dev", "1000"], lines[1..4]);
        var hostUid = Owner(data).Split(':')[0];
        Assert.True(long.Parse(hostUid, System.Globalization.CultureInfo.InvariantCulture) >= 1_000_000_000, hostUid);
        Assert.Equal(hostUid, Owner(Path.Combine(data, "file")).Split(':')[0]);
        Assert.Contains(diskId, await File.ReadAllTextAsync(Path.Combine(envDir, "env.json"), Ct), StringComparison.Ordinal);

        // The disk is never reachable from the environment directory (which removal deletes recursively).
        Assert.False(Directory.Exists(Path.Combine(envDir, "home-0")));
        Assert.DoesNotContain(
            Directory.EnumerateFileSystemEntries(envDir, "*", SearchOption.AllDirectories),
            e => new FileInfo(e).LinkTarget is not null);

        await provider.RemoveEnvironmentAsync(first, Ct);
        await provider.RemoveEnvironmentAsync(first, Ct);

        Assert.False(Directory.Exists(envDir));
        Assert.Equal("hello\n", await File.ReadAllTextAsync(Path.Combine(data, "file"), Ct));
        Assert.Equal("0:0", Owner(data));
        Assert.Equal("0:0", Owner(Path.Combine(data, "file")));

        var snapshot = await disks.SnapshotAsync(diskId, first, first, Ct);
        var content = await disks.ListContentAsync(diskId, first, Ct);

        Assert.Equal(first, snapshot.Id);
        Assert.True(snapshot.FileCount >= 1);
        Assert.Contains(("file", 6L), content);
        Assert.Equal(content.Sum(c => c.Size), snapshot.SizeBytes);

        var second = LocalHostFixture.NewId();
        var again = await provider.EnsureEnvironmentAsync(fx.Spec(second, 1) with { DiskId = diskId }, Ct);
        Assert.True(again.State == EnvironmentState.Ready, $"{again.State}: {again.Message}");
        var read = await fx.SshAsync(again.Ssh!, "cat ~/file; stat -c %u ~/file; id -u");

        Assert.True(read.Succeeded, read.Describe("ssh") + " " + read.StdErr);
        Assert.Equal("hello\n1000\n1000\n", read.StdOut);

        await provider.RemoveEnvironmentAsync(second, Ct);
        Assert.Equal("0:0", Owner(Path.Combine(data, "file")));
    }

    [Fact]
    public async Task TemporaryHome_NextToADiskHome_IsRemovedWithItsEnvironment()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var diskId = LocalHostFixture.NewId();
        await fx.CreateDiskProvider().CreateAsync(diskId, Ct);
        var withDisk = LocalHostFixture.NewId();
        var temporary = LocalHostFixture.NewId();

        var a = await provider.EnsureEnvironmentAsync(fx.Spec(withDisk, 0) with { DiskId = diskId }, Ct);
        var b = await provider.EnsureEnvironmentAsync(fx.Spec(temporary, 1), Ct);
        Assert.True(b.State == EnvironmentState.Ready, $"{b.State}: {b.Message}");
        Assert.True((await fx.SshAsync(a.Ssh!, "echo disk > on-disk.txt")).Succeeded);
        Assert.True((await fx.SshAsync(b.Ssh!, "echo temp > temp.txt")).Succeeded);
        var tempHome = Path.Combine(fx.StateDir, "envs", temporary, "home-0");
        var diskFile = Path.Combine(fx.Disks.Store.DataDir(diskId), "on-disk.txt");

        // The other reservation sees neither the disk nor its path (even with sudo: the host's file system is not in the container).
        var fromB = await fx.SshAsync(b.Ssh!, $"sudo cat {diskFile}; ls ~");
        Assert.Equal("temp\n", await File.ReadAllTextAsync(Path.Combine(tempHome, "temp.txt"), Ct));
        Assert.DoesNotContain("disk", fromB.StdOut, StringComparison.Ordinal);

        await provider.RemoveEnvironmentAsync(temporary, Ct);
        await provider.RemoveEnvironmentAsync(withDisk, Ct);

        Assert.False(Directory.Exists(tempHome));
        Assert.Equal("disk\n", await File.ReadAllTextAsync(diskFile, Ct));
        Assert.Empty(await provider.ListEnvironmentsAsync(Ct));
    }

    [Fact]
    public async Task RestartedProvider_KnowsTheDisk_WarnsIntoIt_RemovesAndDetaches()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var diskId = LocalHostFixture.NewId();
        await fx.CreateDiskProvider().CreateAsync(diskId, Ct);
        var data = fx.Disks.Store.DataDir(diskId);
        var id = LocalHostFixture.NewId();
        var spec = fx.Spec(id, 0) with { DiskId = diskId };
        var before = await fx.CreateProvider().EnsureEnvironmentAsync(spec, Ct);
        Assert.True(before.State == EnvironmentState.Ready, $"{before.State}: {before.Message}");
        var hostUid = Owner(data).Split(':')[0];

        // A new instance with its own store over the same StateDir, as after a server restart.
        var restarted = new LocalHostProvider(
            Microsoft.Extensions.Options.Options.Create(new LocalHostOptions { StateDir = fx.StateDir, Gpus = "h100:4", ReadyTimeout = TimeSpan.FromSeconds(30) }),
            new LocalHostContext(fx.DataDir), TimeProvider.System, NullLogger<LocalHostProvider>.Instance);
        var get = await restarted.GetEnvironmentAsync(id, Ct);
        var again = await restarted.EnsureEnvironmentAsync(spec, Ct);
        var otherHome = await restarted.EnsureEnvironmentAsync(fx.Spec(id, 0), Ct);
        await restarted.DeliverWarningAsync(id, "EXPIRES_IN_5_MIN", "five minutes left", Ct);
        var warning = Path.Combine(data, "EXPIRES_IN_5_MIN");

        Assert.Equal(EnvironmentState.Ready, get.State);
        Assert.Equal(before.Ssh, again.Ssh);
        Assert.Equal(EnvironmentState.Failed, otherHome.State);
        Assert.Contains("temporary home", otherHome.Message, StringComparison.Ordinal);
        Assert.Equal("five minutes left\n", await File.ReadAllTextAsync(warning, Ct));
        Assert.Equal(hostUid, Owner(warning).Split(':')[0]);

        await restarted.ClearWarningsAsync(id, Ct);
        Assert.False(File.Exists(warning));

        await restarted.RemoveEnvironmentAsync(id, Ct);
        await restarted.RemoveEnvironmentAsync(id, Ct);

        Assert.Equal("0:0", Owner(data));
        Assert.False(Directory.Exists(Path.Combine(fx.StateDir, "envs", id)));
    }

    [Fact]
    public async Task DiskOnMultinode_OrMissingDisk_FailsWithoutCreatingAnything()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var diskId = LocalHostFixture.NewId();
        await fx.CreateDiskProvider().CreateAsync(diskId, Ct);
        var multi = LocalHostFixture.NewId();
        var missing = LocalHostFixture.NewId();

        var multinode = await provider.EnsureEnvironmentAsync(fx.MultinodeSpec(multi, [0], [1]) with { DiskId = diskId }, Ct);
        var absent = await provider.EnsureEnvironmentAsync(fx.Spec(missing, 0) with { DiskId = LocalHostFixture.NewId() }, Ct);

        Assert.Equal(EnvironmentState.Failed, multinode.State);
        Assert.Equal("named disks are not supported on multinode reservations yet", multinode.Message);
        Assert.Equal(EnvironmentState.Failed, absent.State);
        Assert.Contains("does not exist", absent.Message, StringComparison.Ordinal);
        Assert.Empty(await provider.ListEnvironmentsAsync(Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => provider.EnsureEnvironmentAsync(fx.Spec(missing, 0) with { DiskId = "../../etc" }, Ct));
    }

    [Fact]
    public async Task DiskProvider_RestoreBringsASnapshotBack_DeleteRemovesIt_UnknownSnapshotIsUnavailable()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var disks = fx.CreateDiskProvider();
        var diskId = LocalHostFixture.NewId();
        await disks.CreateAsync(diskId, Ct);
        var data = fx.Disks.Store.DataDir(diskId);
        var file = Path.Combine(data, "notes.txt");
        await File.WriteAllTextAsync(file, "kept\n", Ct);
        await disks.SnapshotAsync(diskId, "s1", null, Ct);
        File.Delete(file);
        await File.WriteAllTextAsync(Path.Combine(data, "later.txt"), "later\n", Ct);

        await disks.RestoreAsync(diskId, "s1", Ct);

        Assert.Equal("kept\n", await File.ReadAllTextAsync(file, Ct));
        Assert.False(File.Exists(Path.Combine(data, "later.txt")));
        Assert.Equal("0:0", Owner(file));

        var missing = await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => disks.RestoreAsync(diskId, "nope", Ct));
        Assert.Contains("has no snapshot nope", missing.Message, StringComparison.Ordinal);

        await disks.SnapshotAsync(diskId, "s2", null, Ct);
        await disks.DeleteSnapshotAsync(diskId, "s1", Ct);
        await disks.DeleteSnapshotAsync(diskId, "s1", Ct);

        var left = await fx.Disks.Store.ListSnapshotsAsync(diskId, Ct);
        Assert.Equal(["s2"], left.Select(s => s.SnapshotId));
    }

    [Fact]
    public async Task RecreateEnv_FreshDotfilesFromTheImagesSkel_OldOnesBackedUp_NotRedoneForTheSameReservation()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var diskId = LocalHostFixture.NewId();
        await fx.CreateDiskProvider().CreateAsync(diskId, Ct);
        var data = fx.Disks.Store.DataDir(diskId);
        await File.WriteAllTextAsync(Path.Combine(data, ".bashrc"), "# my custom bashrc\n", Ct);
        await File.WriteAllTextAsync(Path.Combine(data, "work.txt"), "untouched\n", Ct);
        var id = LocalHostFixture.NewId();
        var spec = fx.Spec(id, 0) with { DiskId = diskId, RecreateEnv = true };

        var status = await provider.EnsureEnvironmentAsync(spec, Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        var seen = await fx.SshAsync(status.Ssh!,
            "cmp -s ~/.bashrc /etc/skel/.bashrc && echo fresh; cat .gpu-dev-env-backup-*/.bashrc; cat work.txt; stat -c %U .gpu-dev-env-backup-*/.bashrc; " +
            "echo '# edited in the session' > ~/.bashrc");
        Assert.True(seen.Succeeded, seen.Describe("ssh") + " " + seen.StdErr);
        Assert.Equal("fresh\n# my custom bashrc\nuntouched\ndev\n", seen.StdOut);
        var backup = Assert.Single(Directory.GetDirectories(data, ".gpu-dev-env-backup-*"));

        // The same reservation again (e.g. the server re-ensures it, or its container starts again): not recreated a second time.
        await ProcessRunner.RunAsync("podman", ["restart", "--time", "0", $"gpudev-{id}-0"], TimeSpan.FromSeconds(30), Ct);
        var again = await provider.EnsureEnvironmentAsync(spec, Ct);

        Assert.True(again.State == EnvironmentState.Ready, $"{again.State}: {again.Message}");
        Assert.Equal("# edited in the session\n", await File.ReadAllTextAsync(Path.Combine(data, ".bashrc"), Ct));
        Assert.Equal(backup, Assert.Single(Directory.GetDirectories(data, ".gpu-dev-env-backup-*")));
    }

    [Fact]
    public void AddLocalHostCompute_RegistersOneDiskStoreSharedByBothProviders()
    {
        // Nothing is created: the store only computes its paths until first used.
        var dir = Path.Combine("/var/lib/gpu-dev-tests", "di-" + Guid.NewGuid().ToString("N")[..8]);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["LocalHost:StateDir"] = Path.Combine(dir, "state"), ["LocalHost:Gpus"] = "h100:1" })
            .Build();
        var services = new ServiceCollection().AddSingleton(TimeProvider.System).AddLogging();
        services.AddLocalHostCompute(configuration, dir);
        using var sp = services.BuildServiceProvider();

        var diskProvider = sp.GetRequiredService<IDiskProvider>();
        var compute = sp.GetRequiredService<IComputeProvider>();
        var disks = sp.GetRequiredService<LocalDisks>();

        Assert.IsType<LocalHostDiskProvider>(diskProvider);
        Assert.IsType<LocalHostProvider>(compute);
        Assert.Equal(Path.Combine(dir, "state", "disks"), disks.Store.Root);
        Assert.Same(disks, sp.GetRequiredService<LocalDisks>());
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static string Owner(string path)
    {
        var result = ProcessRunner.RunAsync("stat", ["-c", "%u:%g", "--", path], s_timeout, CancellationToken.None).GetAwaiter().GetResult();
        Assert.True(result.Succeeded, result.Describe("stat"));
        return result.StdOut.Trim();
    }
}

using System.Security.Cryptography;
using System.Text;
using GpuDev.Core.Compute;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuDev.Compute.LocalHost.Tests;

/// <summary>A named disk as a reservation's home, with the real sshd and sandbox: attached on Ensure, detached (never
/// deleted) on Remove, snapshotted through <see cref="LocalHostDiskProvider"/>.</summary>
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
        var uid = (await Id(["-u", status.Ssh!.User])).Trim();
        var write = await fx.SshAsync(status.Ssh, "echo hello > ~/file; sha256sum file; echo $HOME; pwd; stat -c %u ~/file");
        var envDir = Path.Combine(fx.StateDir, "envs", first);

        Assert.True(write.Succeeded, write.Describe("ssh") + " " + write.StdErr);
        var lines = write.StdOut.Split('\n');
        Assert.Equal(Sha256("hello\n") + "  file", lines[0]);
        Assert.Equal(["/home/dev", "/home/dev", uid], lines[1..4]);
        Assert.Equal(uid, Owner(data).Split(':')[0]);
        Assert.Contains(diskId, await File.ReadAllTextAsync(Path.Combine(envDir, "env.json"), Ct), StringComparison.Ordinal);

        // The disk is never reachable from the environment directory (which removal deletes recursively).
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(envDir, "home")));
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
        Assert.Equal(diskId, snapshot.DiskId);
        Assert.Equal(first, snapshot.ReservationId);
        Assert.True(snapshot.FileCount >= 1);
        Assert.Contains(("file", 6L), content);
        Assert.Equal(content.Sum(c => c.Size), snapshot.SizeBytes);
        Assert.True(await disks.UsageAsync(diskId, Ct) >= snapshot.SizeBytes);

        var second = LocalHostFixture.NewId();
        var again = await provider.EnsureEnvironmentAsync(fx.Spec(second, 1) with { DiskId = diskId }, Ct);
        Assert.True(again.State == EnvironmentState.Ready, $"{again.State}: {again.Message}");
        var secondUid = (await Id(["-u", again.Ssh!.User])).Trim();
        var read = await fx.SshAsync(again.Ssh, "cat ~/file; stat -c %u ~/file; id -u");

        Assert.True(read.Succeeded, read.Describe("ssh") + " " + read.StdErr);
        Assert.Equal($"hello\n{secondUid}\n{secondUid}\n", read.StdOut);

        await provider.RemoveEnvironmentAsync(second, Ct);
        Assert.Equal("0:0", Owner(Path.Combine(data, "file")));
        Assert.Equal("hello\n", await File.ReadAllTextAsync(Path.Combine(data, "file"), Ct));
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
        var tempHome = Path.Combine(fx.StateDir, "envs", temporary, "home");
        var diskFile = Path.Combine(fx.Disks.Store.DataDir(diskId), "on-disk.txt");

        // The other reservation sees neither the disk nor its path.
        var fromB = await fx.SshAsync(b.Ssh!, $"cat {diskFile}; ls ~");
        Assert.Equal("temp\n", await File.ReadAllTextAsync(Path.Combine(tempHome, "temp.txt"), Ct));
        Assert.DoesNotContain("disk", fromB.StdOut, StringComparison.Ordinal);

        await provider.RemoveEnvironmentAsync(temporary, Ct);
        await provider.RemoveEnvironmentAsync(withDisk, Ct);

        Assert.False(Directory.Exists(tempHome));
        Assert.False(Directory.Exists(Path.Combine(fx.StateDir, "envs", temporary)));
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
        var uid = (await Id(["-u", before.Ssh!.User])).Trim();

        // A new instance with its own store over the same StateDir, as after a server restart.
        var restarted = new LocalHostProvider(
            Microsoft.Extensions.Options.Options.Create(new LocalHostOptions { StateDir = fx.StateDir, Gpus = "h100:4", ReadyTimeout = TimeSpan.FromSeconds(20) }),
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
        Assert.Equal(uid, Owner(warning).Split(':')[0]);

        await restarted.ClearWarningsAsync(id, Ct);
        Assert.False(File.Exists(warning));

        await restarted.RemoveEnvironmentAsync(id, Ct);
        await restarted.RemoveEnvironmentAsync(id, Ct);

        Assert.Equal("0:0", Owner(data));
        Assert.False(Directory.Exists(Path.Combine(fx.StateDir, "envs", id)));
        Assert.Equal(2, (await ProcessRunner.RunAsync("getent", ["passwd", before.Ssh.User], s_timeout, Ct)).ExitCode);
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
    public async Task Jupyter_OnADiskHome_ServesTheDisk_RemovalStopsItAndDetaches()
    {
        if (ProcessRunner.FindOnPath("jupyter-lab") is null && ProcessRunner.FindOnPath("jupyter-notebook") is null)
        {
            Assert.Skip("Jupyter is not installed here.");
        }

        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var diskId = LocalHostFixture.NewId();
        await fx.CreateDiskProvider().CreateAsync(diskId, Ct);
        var id = LocalHostFixture.NewId();
        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 0) with { DiskId = diskId }, Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        Assert.True((await fx.SshAsync(status.Ssh!, "echo nb > on-the-disk.txt")).Succeeded);

        var endpoint = await provider.StartJupyterAsync(id, Ct);
        var url = new Uri(endpoint.Url);
        using var http = new HttpClient(new HttpClientHandler { UseProxy = false, UseCookies = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)}/api/contents");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("token", endpoint.Token);
        var contents = await http.SendAsync(request, Ct);
        var body = await contents.Content.ReadAsStringAsync(Ct);

        Assert.True(contents.IsSuccessStatusCode, $"{(int)contents.StatusCode} {body}");
        Assert.Contains("on-the-disk.txt", body, StringComparison.Ordinal);

        await provider.RemoveEnvironmentAsync(id, Ct);

        var data = fx.Disks.Store.DataDir(diskId);
        Assert.Equal("0:0", Owner(data));
        Assert.Equal("nb\n", await File.ReadAllTextAsync(Path.Combine(data, "on-the-disk.txt"), Ct));
    }

    [Fact]
    public async Task WithoutSandbox_HomeIsTheDisksDataDirectory()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider(o => o.Sandbox = "none");
        var diskId = LocalHostFixture.NewId();
        await fx.CreateDiskProvider().CreateAsync(diskId, Ct);
        var data = fx.Disks.Store.DataDir(diskId);
        var id = LocalHostFixture.NewId();

        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 0) with { DiskId = diskId }, Ct);
        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
        var result = await fx.SshAsync(status.Ssh!, "echo $HOME; pwd; echo x > here.txt");
        await provider.RemoveEnvironmentAsync(id, Ct);

        Assert.True(result.Succeeded, result.Describe("ssh") + " " + result.StdErr);
        Assert.Equal($"{data}\n{data}\n", result.StdOut);
        Assert.Equal("", result.StdErr);
        Assert.Equal("0:0", Owner(Path.Combine(data, "here.txt")));
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
        Assert.Equal("kept\n", await File.ReadAllTextAsync(file, Ct));

        await disks.SnapshotAsync(diskId, "s2", null, Ct);
        await disks.DeleteSnapshotAsync(diskId, "s1", Ct);
        await disks.DeleteSnapshotAsync(diskId, "s1", Ct);

        var left = await fx.Disks.Store.ListSnapshotsAsync(diskId, Ct);
        Assert.Equal(["s2"], left.Select(s => s.SnapshotId));
        var deleted = await Assert.ThrowsAsync<EnvironmentUnavailableException>(() => disks.RestoreAsync(diskId, "s1", Ct));
        Assert.Contains("has no snapshot s1", deleted.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecreateEnv_OnFirstEnsure_FreshDotfilesFromSkel_OldOnesBackedUp_NotRedone()
    {
        const string Skel = "/etc/skel/.bashrc";
        if (!File.Exists(Skel))
        {
            Assert.Skip("No /etc/skel/.bashrc here.");
        }

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
        var uid = (await Id(["-u", status.Ssh!.User])).Trim();
        var skel = await File.ReadAllTextAsync(Skel, Ct);

        Assert.Equal(skel, await File.ReadAllTextAsync(Path.Combine(data, ".bashrc"), Ct));
        Assert.Equal(uid, Owner(Path.Combine(data, ".bashrc")).Split(':')[0]);
        Assert.Equal("untouched\n", await File.ReadAllTextAsync(Path.Combine(data, "work.txt"), Ct));
        var backup = Assert.Single(Directory.GetDirectories(data, ".gpu-dev-env-backup-*"));
        Assert.Equal("# my custom bashrc\n", await File.ReadAllTextAsync(Path.Combine(backup, ".bashrc"), Ct));
        Assert.Equal(uid, Owner(Path.Combine(backup, ".bashrc")).Split(':')[0]);
        var seen = await fx.SshAsync(status.Ssh, "cat ~/.bashrc | sha256sum; echo '# edited in the session' > ~/.bashrc");
        Assert.True(seen.Succeeded, seen.Describe("ssh") + " " + seen.StdErr);
        Assert.Equal(Sha256(skel) + "  -\n", seen.StdOut);

        // The same reservation again (e.g. the server re-ensures it): the dotfiles are not recreated a second time.
        var again = await provider.EnsureEnvironmentAsync(spec, Ct);

        Assert.True(again.State == EnvironmentState.Ready, $"{again.State}: {again.Message}");
        Assert.Equal("# edited in the session\n", await File.ReadAllTextAsync(Path.Combine(data, ".bashrc"), Ct));
        Assert.Equal(backup, Assert.Single(Directory.GetDirectories(data, ".gpu-dev-env-backup-*")));

        await provider.RemoveEnvironmentAsync(id, Ct);
        Assert.Equal("0:0", Owner(Path.Combine(data, ".bashrc")));
    }

    [Fact]
    public async Task RecreateEnv_WithoutADisk_IsIgnored()
    {
        await using var fx = await LocalHostFixture.CreateAsync();
        var provider = fx.CreateProvider();
        var id = LocalHostFixture.NewId();

        var status = await provider.EnsureEnvironmentAsync(fx.Spec(id, 0) with { RecreateEnv = true }, Ct);
        await provider.RemoveEnvironmentAsync(id, Ct);

        Assert.True(status.State == EnvironmentState.Ready, $"{status.State}: {status.Message}");
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

    private static async Task<string> Id(string[] args) =>
        (await ProcessRunner.RunAsync("id", args, s_timeout, CancellationToken.None)).StdOut;
}

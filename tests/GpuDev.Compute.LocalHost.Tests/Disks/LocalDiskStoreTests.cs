using GpuDev.Compute.LocalHost.Disks;

namespace GpuDev.Compute.LocalHost.Tests.Disks;

public sealed class LocalDiskStoreTests
{
    private const string Id = DiskTestRoot.DiskId;
    private static readonly UnixFileMode s_exec = (UnixFileMode)Convert.ToInt32("755", 8);

    [Fact]
    public async Task SnapshotModifyRestore_ContentEqualsSnapshot_ListingSorted_OutsideUntouched()
    {
        await using var root = DiskTestRoot.Create();
        var store = root.CreateStore();
        var ct = TestContext.Current.CancellationToken;
        await store.CreateAsync(Id, ct);
        await store.CreateAsync(Id, ct);
        var data = store.DataDir(Id);
        Assert.Equal((UnixFileMode)Convert.ToInt32("700", 8), File.GetUnixFileMode(data));
        Assert.Equal("0:0", DiskTestRoot.StatOwner(data));
        var outsideBefore = root.OutsideState();
        WriteHome(data, root.OutsideFile);
        var before = DiskTestRoot.Fingerprint(data);

        var s1 = await store.SnapshotAsync(Id, "s1", ct);

        Assert.Equal(5, s1.FileCount);
        Assert.Equal((50L * 1024 * 1024) + 6 + 10 + 7 + 11, s1.SizeBytes);
        Assert.True(s1.ArchiveBytes > 0);
        Assert.Equal(root.Time.Now, s1.CreatedAt);
        Assert.Equal(s1, await store.SnapshotAsync(Id, "s1", ct));
        var content = await store.ListContentAsync(Id, "s1", ct);
        Assert.Equal(["a.txt", "big.bin", "run.sh", "sub/b.txt", "sub/tab\there.txt"], content.Select(e => e.Path));
        Assert.Equal(50L * 1024 * 1024, content.Single(e => e.Path == "big.bin").SizeBytes);
        Assert.True(File.Exists(Path.Combine(store.SnapshotsDir(Id), "s1." + (store.Compression == DiskArchiveCompression.Zstd ? "tar.zst" : "tar.gz"))));
        Assert.Empty(Directory.GetFiles(store.SnapshotsDir(Id), "*.tmp"));

        File.Delete(Path.Combine(data, "a.txt"));
        File.WriteAllText(Path.Combine(data, "sub", "b.txt"), "changed");
        File.WriteAllText(Path.Combine(data, "new.txt"), "new");
        File.Delete(Path.Combine(data, "link-out"));
        Assert.NotEqual(before, DiskTestRoot.Fingerprint(data));

        root.Time.Advance(TimeSpan.FromMinutes(5));
        var kept = await store.RestoreAsync(Id, "s1", ct);

        Assert.Equal(before, DiskTestRoot.Fingerprint(data));
        Assert.Equal(root.OutsideFile, new FileInfo(Path.Combine(data, "link-out")).LinkTarget);
        Assert.Equal(outsideBefore, root.OutsideState());
        Assert.True(File.Exists(Path.Combine(kept, "new.txt")), "the replaced content is kept until the next snapshot");
        Assert.Empty(await DiskTestRoot.NotOwnedByAsync(data, 0));
        Assert.False(Directory.Exists(Path.Combine(store.DiskDir(Id), "restore.tmp")));
        Assert.False(Directory.Exists(Path.Combine(store.DiskDir(Id), "restore.ready")));

        root.Time.Advance(TimeSpan.FromMinutes(5));
        var s2 = await store.SnapshotAsync(Id, "s2", ct);
        Assert.False(Directory.Exists(kept), "a successful snapshot removes the pre-restore copy");
        Assert.Equal(["s2", "s1"], (await store.ListSnapshotsAsync(Id, ct)).Select(s => s.SnapshotId));
        Assert.Equal(s1.SizeBytes, s2.SizeBytes);

        await store.DeleteSnapshotAsync(Id, "s1", ct);
        await store.DeleteSnapshotAsync(Id, "s1", ct);
        Assert.Equal(["s2"], (await store.ListSnapshotsAsync(Id, ct)).Select(s => s.SnapshotId));
        Assert.Single(Directory.GetFiles(store.SnapshotsDir(Id), "*.tar.*"));
        await Assert.ThrowsAsync<FileNotFoundException>(() => store.RestoreAsync(Id, "s1", ct));

        Assert.True(await store.UsageAsync(Id, ct) >= 50L * 1024 * 1024);
        await store.PurgeAsync(Id, ct);
        await store.PurgeAsync(Id, ct);
        Assert.False(Directory.Exists(store.DiskDir(Id)));
        Assert.Empty(Directory.GetFileSystemEntries(store.Root));
        Assert.Equal(outsideBefore, root.OutsideState());
    }

    [Fact]
    public async Task AttachDetach_ChownsWithoutFollowingSymlinks()
    {
        await using var root = DiskTestRoot.Create();
        await using var user = await ThrowawayUser.CreateAsync();
        var store = root.CreateStore();
        var ct = TestContext.Current.CancellationToken;
        await store.CreateAsync(Id, ct);
        var data = store.DataDir(Id);
        WriteHome(data, root.OutsideFile, bigFile: false);
        Directory.CreateSymbolicLink(Path.Combine(data, "link-dir-out"), root.Outside);
        var outsideBefore = root.OutsideState();
        var outsideDirOwner = DiskTestRoot.StatOwner(root.Outside);

        var path = await store.AttachAsync(Id, user.Uid, user.Gid, ct);

        Assert.Equal(data, path);
        Assert.Empty(await DiskTestRoot.NotOwnedByAsync(data, user.Uid));
        Assert.Equal($"{user.Uid}:{user.Gid}", DiskTestRoot.StatOwner(Path.Combine(data, "link-out")));
        Assert.Equal(outsideBefore, root.OutsideState());
        Assert.Equal(outsideDirOwner, DiskTestRoot.StatOwner(root.Outside));

        // Restore while attached keeps the attached owner.
        await store.SnapshotAsync(Id, "s1", ct);
        await store.RestoreAsync(Id, "s1", ct);
        Assert.Empty(await DiskTestRoot.NotOwnedByAsync(data, user.Uid));
        Assert.Empty(await DiskTestRoot.NotOwnedByAsync(Directory.GetDirectories(store.DiskDir(Id), "data.before-restore-*").Single(), 0));

        await store.DetachAsync(Id, ct);

        Assert.Empty(await DiskTestRoot.NotOwnedByAsync(data, 0));
        Assert.Equal(outsideBefore, root.OutsideState());
        Assert.Equal(outsideDirOwner, DiskTestRoot.StatOwner(root.Outside));
    }

    [Fact]
    public async Task Recover_RemovesHalfWrittenSnapshotsAndRestores_DiskStaysConsistent()
    {
        await using var root = DiskTestRoot.Create();
        var store = root.CreateStore();
        var ct = TestContext.Current.CancellationToken;
        await store.CreateAsync(Id, ct);
        var data = store.DataDir(Id);
        WriteHome(data, root.OutsideFile, bigFile: false);
        await store.SnapshotAsync(Id, "s1", ct);
        var before = DiskTestRoot.Fingerprint(data);
        var snapshots = store.SnapshotsDir(Id);
        var ext = store.Compression == DiskArchiveCompression.Zstd ? "tar.zst" : "tar.gz";
        File.WriteAllText(Path.Combine(snapshots, $"s2.{ext}.tmp"), "half an archive");
        File.WriteAllText(Path.Combine(snapshots, "s2.list.tsv.tmp"), "1\thalf");
        File.WriteAllText(Path.Combine(snapshots, $"s3.{ext}"), "archive renamed, listing not yet");
        var half = Path.Combine(store.DiskDir(Id), "restore.tmp");
        Directory.CreateDirectory(Path.Combine(half, "sub"));
        File.WriteAllText(Path.Combine(half, "sub", "partial"), "x");
        var purging = Path.Combine(store.Root, ".purge-" + "f".PadLeft(32, 'f'));
        Directory.CreateDirectory(Path.Combine(purging, "data"));

        Assert.Equal(["s1"], (await store.ListSnapshotsAsync(Id, ct)).Select(s => s.SnapshotId));
        var actions = await store.RecoverAsync(ct);

        Assert.Equal(5, actions.Count);
        Assert.Equal(["s1.list.tsv", $"s1.{ext}"], Directory.GetFiles(snapshots).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.False(Directory.Exists(half));
        Assert.False(Directory.Exists(purging));
        Assert.Equal(before, DiskTestRoot.Fingerprint(data));
        Assert.Empty(await store.RecoverAsync(ct));

        // Extracted but not swapped in: rolled back; the old data is the consistent state.
        var ready = Path.Combine(store.DiskDir(Id), "restore.ready");
        Directory.CreateDirectory(ready);
        File.WriteAllText(Path.Combine(ready, "from-snapshot"), "x");
        await store.RecoverAsync(ct);
        Assert.False(Directory.Exists(ready));
        Assert.Equal(before, DiskTestRoot.Fingerprint(data));

        // Crash between the two renames of the swap: data is gone, restore.ready is complete: rolled forward.
        await store.RestoreAsync(Id, "s1", ct);
        File.WriteAllText(Path.Combine(data, "edited"), "x");
        var edited = DiskTestRoot.Fingerprint(data);
        Directory.Move(data, ready);
        await store.RecoverAsync(ct);
        Assert.Equal(edited, DiskTestRoot.Fingerprint(data));

        // Data gone without a ready restore: the latest pre-restore copy goes back.
        var previous = Directory.GetDirectories(store.DiskDir(Id), "data.before-restore-*").Single();
        Directory.Delete(data, recursive: true);
        await store.RecoverAsync(ct);
        Assert.Equal(before, DiskTestRoot.Fingerprint(data));
        Assert.False(Directory.Exists(previous));
    }

    [Fact]
    public async Task RecreateDotfiles_MovesShellFilesAsideAndCopiesSkel_NeverFollowsSymlinks()
    {
        await using var root = DiskTestRoot.Create();
        var skel = Path.Combine(root.Dir, "skel");
        Directory.CreateDirectory(skel);
        File.WriteAllText(Path.Combine(skel, ".bashrc"), "# fresh bashrc\n");
        File.WriteAllText(Path.Combine(skel, ".profile"), "# fresh profile\n");
        var store = root.CreateStore(skel);
        var ct = TestContext.Current.CancellationToken;
        await store.CreateAsync(Id, ct);
        var data = store.DataDir(Id);
        File.WriteAllText(Path.Combine(data, ".bashrc"), "# mine\n");
        File.CreateSymbolicLink(Path.Combine(data, ".profile"), root.OutsideFile);
        File.WriteAllText(Path.Combine(data, "keep.txt"), "untouched");
        var outsideBefore = root.OutsideState();

        var backup = await store.RecreateDotfilesAsync(Id, ct);

        Assert.NotNull(backup);
        Assert.StartsWith(Path.Combine(data, ".gpu-dev-env-backup-"), backup, StringComparison.Ordinal);
        Assert.Equal("# mine\n", File.ReadAllText(Path.Combine(backup, ".bashrc")));
        Assert.Equal(root.OutsideFile, new FileInfo(Path.Combine(backup, ".profile")).LinkTarget);
        Assert.Equal("# fresh bashrc\n", File.ReadAllText(Path.Combine(data, ".bashrc")));
        Assert.Null(new FileInfo(Path.Combine(data, ".profile")).LinkTarget);
        Assert.Equal("# fresh profile\n", File.ReadAllText(Path.Combine(data, ".profile")));
        Assert.Equal("untouched", File.ReadAllText(Path.Combine(data, "keep.txt")));
        Assert.Equal(outsideBefore, root.OutsideState());

        // Same second again: a second backup directory, not a merge into the first.
        var second = await store.RecreateDotfilesAsync(Id, ct);
        Assert.NotEqual(backup, second);
        Assert.Equal("# fresh bashrc\n", File.ReadAllText(Path.Combine(second!, ".bashrc")));
    }

    [Fact]
    public async Task Ids_AreValidated()
    {
        await using var root = DiskTestRoot.Create();
        var store = root.CreateStore();
        var ct = TestContext.Current.CancellationToken;
        await Assert.ThrowsAsync<ArgumentException>(() => store.CreateAsync("../../etc", ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.CreateAsync("0123456789ABCDEF0123456789ABCDEF", ct));
        await store.CreateAsync(Id, ct);
        await Assert.ThrowsAsync<ArgumentException>(() => store.SnapshotAsync(Id, "../x", ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.SnapshotAsync(Id, "a.tmp", ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.AttachAsync(Id, 0, 0, ct));
        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => store.AttachAsync("f".PadLeft(32, 'f'), 1000, 1000, ct));
    }

    [Theory]
    [InlineData("plain/path.txt")]
    [InlineData("tab\there\\and\nnewline\r")]
    public void ListingPaths_RoundTrip(string path)
    {
        var escaped = SnapshotListing.EscapePath(path);
        Assert.DoesNotContain('\t', escaped);
        Assert.DoesNotContain('\n', escaped);
        Assert.Equal(path, SnapshotListing.UnescapePath(escaped));
    }

    /// <summary>a.txt, run.sh (0755), sub/b.txt, sub/tab&lt;TAB&gt;here.txt, big.bin (50 MB), link-out → outside, sub/link-rel → ../a.txt, empty/.</summary>
    internal static void WriteHome(string data, string outsideFile, bool bigFile = true)
    {
        File.WriteAllText(Path.Combine(data, "a.txt"), "alpha\n");
        File.WriteAllText(Path.Combine(data, "run.sh"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(data, "run.sh"), s_exec);
        Directory.CreateDirectory(Path.Combine(data, "sub"));
        Directory.CreateDirectory(Path.Combine(data, "empty"));
        File.WriteAllText(Path.Combine(data, "sub", "b.txt"), "beta-b\n");
        File.WriteAllText(Path.Combine(data, "sub", "tab\there.txt"), "tabbed name");
        if (bigFile)
        {
            var bytes = new byte[50 * 1024 * 1024];
            new Random(42).NextBytes(bytes);
            File.WriteAllBytes(Path.Combine(data, "big.bin"), bytes);
        }

        File.CreateSymbolicLink(Path.Combine(data, "link-out"), outsideFile);
        File.CreateSymbolicLink(Path.Combine(data, "sub", "link-rel"), "../a.txt");
    }
}

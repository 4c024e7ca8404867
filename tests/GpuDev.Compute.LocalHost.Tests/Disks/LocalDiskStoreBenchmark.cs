using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace GpuDev.Compute.LocalHost.Tests.Disks;

/// <summary>Snapshot and restore of a home of mixed content: 1 GB with GPU_DEV_DISK_BENCH=1 (the measurement, about a minute),
/// otherwise the same mix scaled down 50 times (~20 MB: the same code paths, checked, in seconds).</summary>
public sealed class LocalDiskStoreBenchmark(ITestOutputHelper output)
{
    private const string Id = DiskTestRoot.DiskId;

    [Fact]
    [Trait("Category", "Benchmark")]
    public async Task Snapshot_And_Restore_MixedHome()
    {
        var scale = Environment.GetEnvironmentVariable("GPU_DEV_DISK_BENCH") == "1" ? 1 : 50;
        await using var root = DiskTestRoot.Create();
        var store = root.CreateStore();
        var ct = TestContext.Current.CancellationToken;
        await store.CreateAsync(Id, ct);
        var (textBytes, randomBytes, smallBytes, files) = Generate(store.DataDir(Id), scale);
        var usage = await store.UsageAsync(Id, ct);

        List<double> snapshotSeconds = [];
        List<double> restoreSeconds = [];
        List<long> archiveBytes = [];
        for (var i = 1; i <= 3; i++)
        {
            var watch = Stopwatch.StartNew();
            var info = await store.SnapshotAsync(Id, "bench" + i.ToString(CultureInfo.InvariantCulture), ct);
            snapshotSeconds.Add(watch.Elapsed.TotalSeconds);
            archiveBytes.Add(info.ArchiveBytes);
            Assert.Equal(files, info.FileCount);
        }

        for (var i = 1; i <= 3; i++)
        {
            var watch = Stopwatch.StartNew();
            await store.RestoreAsync(Id, "bench" + i.ToString(CultureInfo.InvariantCulture), ct);
            restoreSeconds.Add(watch.Elapsed.TotalSeconds);
        }

        var report = string.Create(CultureInfo.InvariantCulture,
            $"disk bench ({store.Compression}, {Environment.ProcessorCount} cores): home {usage / 1e6:F0} MB apparent = {textBytes / 1e6:F0} MB text + {randomBytes / 1e6:F0} MB random + {smallBytes / 1e6:F0} MB in small files, {files} files\n"
            + $"  snapshot s: {string.Join(", ", snapshotSeconds.Select(s => s.ToString("F2", CultureInfo.InvariantCulture)))} (median {Median(snapshotSeconds):F2})\n"
            + $"  archive MB: {archiveBytes[1] / 1e6:F1} ({100.0 * archiveBytes[1] / usage:F1}% of the home)\n"
            + $"  restore s (pre-restore copy kept, chown included): {string.Join(", ", restoreSeconds.Select(s => s.ToString("F2", CultureInfo.InvariantCulture)))} (median {Median(restoreSeconds):F2})\n");
        output.WriteLine(report);
        if (scale == 1)
        {
            await File.WriteAllTextAsync("/var/tmp/gpu-dev-disk-bench.txt", report, ct);
        }
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    /// <summary>At scale 1: ~400 MB of log-like text in 40 files, ~400 MB random in 8 files, ~200 MB in 20 000 small files (half
    /// text, half random); at scale n, files 1/n the size and 1/n of the small-file directories (at least 2).</summary>
    private static (long Text, long Random, long Small, int Files) Generate(string data, int scale)
    {
        var random = new Random(7);
        long text = 0, rnd = 0, small = 0;
        var files = 0;
        Directory.CreateDirectory(Path.Combine(data, "logs"));
        for (var f = 0; f < 40; f++)
        {
            var sb = new StringBuilder((10_000_000 / scale) + 200);
            while (sb.Length < 10_000_000 / scale)
            {
                sb.Append(CultureInfo.InvariantCulture, $"2025-06-01T12:{random.Next(60):D2}:{random.Next(60):D2} INFO step={random.Next(100000)} loss={random.NextDouble():F6} lr=0.0003 worker={random.Next(8)} msg=training progressing normally\n");
            }

            var bytes = Encoding.UTF8.GetBytes(sb.ToString());
            File.WriteAllBytes(Path.Combine(data, "logs", $"train-{f}.log"), bytes);
            text += bytes.Length;
            files++;
        }

        Directory.CreateDirectory(Path.Combine(data, "ckpt"));
        var big = new byte[50 * 1024 * 1024 / scale];
        for (var f = 0; f < 8; f++)
        {
            random.NextBytes(big);
            File.WriteAllBytes(Path.Combine(data, "ckpt", $"shard-{f}.bin"), big);
            rnd += big.Length;
            files++;
        }

        var chunk = new byte[10 * 1024];
        var line = Encoding.UTF8.GetBytes("import torch\nfrom torch import nn\n# some source code that repeats itself\n");
        for (var d = 0; d < Math.Max(2, 100 / scale); d++)
        {
            var dir = Path.Combine(data, "src", "pkg" + d.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(dir);
            for (var f = 0; f < 200; f++)
            {
                if (f % 2 == 0)
                {
                    random.NextBytes(chunk);
                }
                else
                {
                    for (var i = 0; i < chunk.Length; i++)
                    {
                        chunk[i] = line[i % line.Length];
                    }
                }

                File.WriteAllBytes(Path.Combine(dir, $"m{f}.py"), chunk);
                small += chunk.Length;
                files++;
            }
        }

        return (text, rnd, small, files);
    }
}

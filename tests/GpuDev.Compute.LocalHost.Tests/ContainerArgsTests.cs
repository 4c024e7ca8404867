using System.Net;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;

namespace GpuDev.Compute.LocalHost.Tests;

/// <summary>The <c>podman run</c> arguments of a rank, and the start-up checks that need no container.</summary>
public sealed class ContainerArgsTests
{
    private const string Id = "0123456789abcdef0123456789abcdef";

    private static readonly HostResources s_host = new(Cpus: 14.4, MemoryBytes: 100L << 30, HostGpus: 8, Nodes: 1);

    private static EnvironmentSpec Spec(params int[][] gpusPerRank) => new()
    {
        ReservationId = Id,
        Owner = "alice",
        AuthorizedKeys = ["ssh-ed25519 AAAA test"],
        GpuType = "h100",
        Allocations = [.. gpusPerRank.Select((gpus, rank) => new NodeAllocation(rank, "local-" + rank, gpus))],
    };

    private static List<string> Run(EnvironmentSpec spec, int rank, bool realGpus = false, bool rootless = false, string publish = "127.0.0.1")
    {
        var layout = new EnvironmentLayout("/var/lib/gpu-dev/x", Id);
        var record = new EnvironmentRecord(Id, "alice", [30001, 30002], 30009, 1_000_065_536, "img:1", DateTimeOffset.UnixEpoch);
        return ContainerArgs.Run(spec, layout, record, rank, ["--runtime", "runc"], IPAddress.Parse(publish), s_host, "inst", rootless, realGpus);
    }

    private static string After(List<string> args, string flag) => args[args.IndexOf(flag) + 1];

    private static IEnumerable<string> All(List<string> args, string flag) => args.Select((a, i) => (a, i)).Where(p => p.a == flag).Select(p => args[p.i + 1]);

    [Fact]
    public void Rank0_LabelsNetworkPublishedOnTheAddressOnlyUidRangeLimitsMountsAndEntry()
    {
        var args = Run(Spec([2, 3]), 0);

        Assert.Equal(["run", "--detach", "--init"], args.Take(3));
        Assert.Equal($"gpudev-{Id}-0", After(args, "--name"));
        Assert.Equal([$"gpu-dev.io/reservation={Id}", "gpu-dev.io/rank=0", "gpu-dev.io/instance=inst"], All(args, "--label"));
        Assert.Equal($"gpudev-{Id}", After(args, "--network"));
        Assert.Equal("0123456789ab-0", After(args, "--network-alias"));
        Assert.Equal(["127.0.0.1:30001:22", "127.0.0.1:30009:8888"], All(args, "--publish"));
        Assert.Equal("0:1000065536:65536", After(args, "--uidmap"));
        Assert.Equal("0:1000065536:65536", After(args, "--gidmap"));
        Assert.Equal("3.6", After(args, "--cpus"));
        Assert.Equal("25600m", After(args, "--memory"));
        Assert.Equal("12800m", After(args, "--shm-size"));
        Assert.DoesNotContain("--privileged", args);
        Assert.DoesNotContain("--cap-add", args);
        Assert.DoesNotContain("--device", args);
        Assert.Equal(
            ["/var/lib/gpu-dev/x/envs/" + Id + "/config:/gpu-dev/config:ro", "/var/lib/gpu-dev/x/envs/" + Id + "/keys:/gpu-dev/keys:ro",
             "/var/lib/gpu-dev/x/envs/" + Id + "/home-0:/home/dev", "/var/lib/gpu-dev/x/shared-personal/alice:/shared-personal",
             "/var/lib/gpu-dev/x/ccache/alice:/ccache"],
            All(args, "--volume"));
        Assert.Contains("CUDA_VISIBLE_DEVICES=0,1", All(args, "--env"));
        Assert.Contains("GPU_DEV_GPUS=2,3", All(args, "--env"));
        Assert.Equal(["--entrypoint", "/bin/sh", "img:1", "/gpu-dev/config/entry.sh"], args.TakeLast(4));
    }

    [Fact]
    public void RealGpus_AreExactlyTheAllocatedCdiDevices_Multinode_SharedMountAndNoJupyterPortOnRank1()
    {
        var args = Run(Spec([0, 1], [4, 5]), 1, realGpus: true);

        Assert.Equal(["nvidia.com/gpu=4", "nvidia.com/gpu=5"], All(args, "--device"));
        Assert.Equal(["127.0.0.1:30002:22"], All(args, "--publish"));
        Assert.Contains("/var/lib/gpu-dev/x/envs/" + Id + "/shared:/shared", All(args, "--volume"));
        Assert.Contains("MASTER_ADDR=0123456789ab-0", All(args, "--env"));
        Assert.Contains("RANK=1", All(args, "--env"));
    }

    [Fact]
    public void Rootless_KeepsTheUserAsDev_NoUidMapOrCgroupLimits_PreserveEntrypointKeepsTheImagesCommand()
    {
        var spec = Spec([0]) with { Options = new EnvironmentOptions { DockerImage = "img:1", PreserveEntrypoint = true } };

        var args = Run(spec, 0, rootless: true, publish: "0.0.0.0");

        Assert.Contains("--userns=keep-id:uid=1000,gid=1000", args);
        Assert.DoesNotContain("--uidmap", args);
        Assert.DoesNotContain("--cpus", args);
        Assert.Equal("0.0.0.0:30001:22", All(args, "--publish").First());
        Assert.Equal("img:1", args[^1]);
        Assert.DoesNotContain("--entrypoint", args);
    }

    [Fact]
    public void Limits_AreTheGpusShareWithFloors()
    {
        Assert.Equal((14.4, 100L << 30), ContainerArgs.Limits(8, s_host));
        Assert.Equal((1.0, 1L << 30), ContainerArgs.Limits(1, new HostResources(1.8, 1L << 30, 32, 4)));
        Assert.Equal((3.6, 25L << 30), ContainerArgs.Limits(0, new HostResources(14.4, 100L << 30, 0, 4)));
    }

    [Fact]
    public async Task StartupCheck_GpusWithoutCdiSpec_OrRootlessWithoutRanges_SaysWhatToRun()
    {
        var options = new LocalHostOptions { StateDir = "/var/lib/gpu-dev-tests/none", PodmanPath = "podman" };
        var noCdi = Directory.CreateTempSubdirectory("gpu-dev-no-cdi-").FullName;
        try
        {
            var gpus = await new PodmanCheck(new Podman(options), options, rootless: false, [noCdi]).RunAsync(realGpus: true, TestContext.Current.CancellationToken);
            Assert.Contains(gpus, p => p.Contains("nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml", StringComparison.Ordinal));
            await File.WriteAllTextAsync(Path.Combine(noCdi, "nvidia.yaml"), "cdiVersion: 0.5.0\n", TestContext.Current.CancellationToken);
            var withSpec = await new PodmanCheck(new Podman(options), options, rootless: false, [noCdi]).RunAsync(realGpus: true, TestContext.Current.CancellationToken);
            Assert.DoesNotContain(withSpec, p => p.Contains("CDI", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(noCdi, recursive: true);
        }

        var emptySubuid = Path.GetTempFileName();
        try
        {
            var rootless = await new PodmanCheck(new Podman(options), options, rootless: true, subIdFiles: [emptySubuid]).RunAsync(realGpus: false, TestContext.Current.CancellationToken);
            Assert.Contains(rootless, p => p.Contains(emptySubuid, StringComparison.Ordinal) && p.Contains("usermod --add-subuids", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(emptySubuid);
        }
    }
}

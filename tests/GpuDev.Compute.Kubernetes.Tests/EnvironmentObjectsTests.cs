using System.Diagnostics;
using GpuDev.Core.Catalog;
using GpuDev.Core.Compute;
using GpuDev.Core.Reservations;
using GpuDev.Testing;
using k8s.Models;

namespace GpuDev.Compute.Kubernetes.Tests;

public sealed class EnvironmentObjectsTests
{
    private const string Id = "0123456789abcdef0123456789abcdef";
    private static readonly EnvironmentObjects.NodeFacts s_p5 = new("gpu-a", 192, 2048d * 1024 * 1024 * 1024, 8, 32);
    private readonly KubernetesOptions _options = new();

    private EnvironmentObjects Objects => new(_options, GpuCatalog.Default);

    private static EnvironmentSpec Spec(int nodes = 1, int gpusPerNode = 8, EnvironmentOptions? options = null, string? disk = null) => new()
    {
        ReservationId = Id,
        Owner = "alice",
        AuthorizedKeys = [TestKeys.Ed25519],
        GpuType = "h100",
        Allocations = [.. Enumerable.Range(0, nodes).Select(r => new NodeAllocation(r, $"gpu-{(char)('a' + r)}", [.. Enumerable.Range(0, gpusPerNode)]))],
        Options = options ?? EnvironmentOptions.None,
        DiskId = disk,
    };

    [Fact]
    public void Pod_EnvIsTheSharedContract_PlusKubernetesExtras_NoJupyterVariable()
    {
        // --recreate-env acts on a named disk (a multinode reservation has none on the local provider; the contract is the same).
        var spec = Spec(nodes: 2, disk: "0123456789abcdef0123456789abcdef") with { RecreateEnv = true, Environment = new Dictionary<string, string> { ["MY_VAR"] = "x" } };

        var pod = Objects.Pod(spec, 1, s_p5, "img:1");

        var expected = EnvironmentContract.Variables(spec, 1, $"gpudev-{Id}-0-headless.gpu-dev.svc.cluster.local").Select(v => $"{v.Key}={v.Value}").ToList();
        var env = pod.Spec.Containers.Single().Env.Select(e => $"{e.Name}={e.Value}").ToList();
        Assert.Equal(expected, env.Take(expected.Count));
        Assert.Contains("GPU_DEV_RECREATE_ENV=1", env);
        Assert.Contains("MY_VAR=x", env);
        Assert.Contains("NCCL_SOCKET_IFNAME=eth0", env);
        Assert.Contains("FI_PROVIDER=efa", env);
        Assert.DoesNotContain(env, e => e.StartsWith("GPUDEV_JUPYTER", StringComparison.Ordinal));
    }

    [Fact]
    public void Multinode_SharedIsAPerReservationClaim_UnlessSharedClaimIsSet()
    {
        var own = Objects.Pod(Spec(nodes: 2), 0, s_p5, "img:1");
        var claim = Objects.SharedClaim(Spec(nodes: 2));
        _options.SharedClaim = "team-shared";
        var configured = Objects.Pod(Spec(nodes: 2), 0, s_p5, "img:1");
        var single = Objects.Pod(Spec(), 0, s_p5, "img:1");

        Assert.Equal($"gpudev-{Id}-shared", own.Spec.Volumes.Single(v => v.Name == "shared").PersistentVolumeClaim.ClaimName);
        Assert.Null(own.Spec.Containers.Single().VolumeMounts.Single(m => m.MountPath == "/shared").SubPath);
        Assert.Equal(["ReadWriteMany"], claim.Spec.AccessModes);
        Assert.Equal(("efs-sc", "10Gi"), (claim.Spec.StorageClassName, claim.Spec.Resources.Requests["storage"].ToString()));
        Assert.Equal(Id, claim.Metadata.Labels["gpu-dev.io/reservation"]);
        Assert.Equal("team-shared", configured.Spec.Volumes.Single(v => v.Name == "shared").PersistentVolumeClaim.ClaimName);
        Assert.Equal(Id, configured.Spec.Containers.Single().VolumeMounts.Single(m => m.MountPath == "/shared").SubPath);
        Assert.DoesNotContain(single.Spec.Volumes, v => v.Name == "shared");
    }

    [Fact]
    public void Secret_HasTheContractsKeyFiles_MultinodeAddsNodeKeyKnownHostsAndSshConfig()
    {
        var hostKey = new HostKeyPair("HOST-PRIVATE", "ssh-ed25519 HOSTPUB");
        var rankKey = new HostKeyPair("RANK-PRIVATE", "ssh-ed25519 RANKPUB");

        var single = Objects.Secret(Spec(), hostKey, null, "token");
        var multi = Objects.Secret(Spec(nodes: 2), hostKey, rankKey, "token");

        Assert.Equal(["authorized_keys", "jupyter_token", "ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"], single.StringData.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["authorized_keys", "jupyter_token", "known_hosts", "node_key", "node_key.pub", "ssh_config", "ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"],
            multi.StringData.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("*-headless,*-headless.* ssh-ed25519 HOSTPUB\n", multi.StringData["known_hosts"]);
        Assert.Contains("Host *-headless *-headless.*\n", multi.StringData["ssh_config"], StringComparison.Ordinal);
        Assert.Contains("IdentityFile /etc/gpu-dev/node_key", multi.StringData["ssh_config"], StringComparison.Ordinal);
        Assert.EndsWith("ssh-ed25519 RANKPUB\n", multi.StringData["authorized_keys"], StringComparison.Ordinal);
    }

    [Fact]
    public void Config_HasTheEntryScript_AndTheJupyterKeyOnlyWhenWanted()
    {
        Assert.Equal(["entry.sh"], Objects.Config(Spec()).Data.Keys);
        Assert.Equal(["entry.sh", "jupyter"], Objects.Config(Spec() with { Jupyter = true }).Data.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(EntryScript.Text, Objects.Config(Spec()).Data["entry.sh"]);
    }

    [Fact]
    public void Pod_AsksForItsGpusAndShareOfTheNode_PinnedToThePlannedNodeAndType()
    {
        var pod = Objects.Pod(Spec(gpusPerNode: 4), 0, s_p5, "img:1");

        var dev = pod.Spec.Containers.Single();
        Assert.Equal($"gpudev-{Id}-0", pod.Metadata.Name);
        Assert.Equal("4", dev.Resources.Limits["nvidia.com/gpu"].ToString());
        Assert.Equal("4", dev.Resources.Requests["nvidia.com/gpu"].ToString());
        Assert.Equal("86400m", dev.Resources.Limits["cpu"].ToString()); // 192 cores * 4/8 * 0.9
        Assert.False(dev.Resources.Limits.ContainsKey("vpc.amazonaws.com/efa"));
        Assert.Equal("gpu-a", pod.Spec.NodeSelector["kubernetes.io/hostname"]);
        Assert.Equal("p5.48xlarge", pod.Spec.NodeSelector["node.kubernetes.io/instance-type"]);
        Assert.Contains(pod.Spec.Tolerations, t => t.Key == "nvidia.com/gpu" && t.OperatorProperty == "Exists");
        Assert.Equal("0,1,2,3", Env(pod, "CUDA_VISIBLE_DEVICES"));
        Assert.Equal(("0", "1", "localhost"), (Env(pod, "RANK"), Env(pod, "WORLD_SIZE"), Env(pod, "MASTER_ADDR")));
        Assert.Equal(["/bin/sh", "/gpu-dev/config/entry.sh"], dev.Command);
        Assert.NotNull(pod.Spec.Volumes.Single(v => v.Name == "home").EmptyDir);
        Assert.Equal("Memory", pod.Spec.Volumes.Single(v => v.Name == "dshm").EmptyDir.Medium);
        Assert.Equal("gpu-dev", pod.Metadata.Labels["app.kubernetes.io/managed-by"]);
        Assert.Equal(Id, pod.Metadata.Labels["gpu-dev.io/reservation"]);
    }

    [Fact]
    public void Pod_Multinode_HasRankVariablesMasterOnRankZeroAndEfa()
    {
        var spec = Spec(nodes: 2);

        var pod = Objects.Pod(spec, 1, s_p5 with { Name = "gpu-b" }, "img:1");

        Assert.Equal(("1", "2", "29500"), (Env(pod, "RANK"), Env(pod, "WORLD_SIZE"), Env(pod, "MASTER_PORT")));
        Assert.Equal($"gpudev-{Id}-0-headless.gpu-dev.svc.cluster.local", Env(pod, "MASTER_ADDR"));
        Assert.Equal("32", pod.Spec.Containers[0].Resources.Limits["vpc.amazonaws.com/efa"].ToString());
        Assert.Equal("efa", Env(pod, "FI_PROVIDER"));
        Assert.Equal("gpu-b", pod.Spec.NodeSelector["kubernetes.io/hostname"]);
        var headless = Objects.HeadlessService(spec, 1);
        Assert.Equal(("None", $"gpudev-{Id}-1-headless"), (headless.Spec.ClusterIP, headless.Metadata.Name));
        Assert.Contains(headless.Spec.Ports, p => p.Port == 29500);
        Assert.Equal("1", headless.Spec.Selector["gpu-dev.io/rank"]);
    }

    [Fact]
    public void Pod_NsightLabel_AddsAffinitySysAdminAndDriverCapabilities()
    {
        var options = new EnvironmentOptions { NodeLabels = new Dictionary<string, string> { ["nsight"] = "true" } };

        var pod = Objects.Pod(Spec(options: options), 0, s_p5, "img:1");

        var term = pod.Spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms.Single();
        Assert.Equal(("nsight", "In", "true"), (term.MatchExpressions[0].Key, term.MatchExpressions[0].OperatorProperty, term.MatchExpressions[0].Values.Single()));
        Assert.Equal(["SYS_ADMIN"], pod.Spec.Containers[0].SecurityContext.Capabilities.Add);
        Assert.Equal("compute,utility", Env(pod, "NVIDIA_DRIVER_CAPABILITIES"));
    }

    [Fact]
    public void Pod_WithDiskAndSharedClaims_MountsThem()
    {
        _options.SharedPersonalClaim = "gpu-dev-shared-personal";
        _options.CcacheClaim = "gpu-dev-ccache";

        var pod = Objects.Pod(Spec(disk: "d1"), 0, s_p5, "img:1");

        Assert.Equal("gpudev-disk-d1", pod.Spec.Volumes.Single(v => v.Name == "home").PersistentVolumeClaim.ClaimName);
        var mounts = pod.Spec.Containers[0].VolumeMounts.ToDictionary(m => m.MountPath);
        Assert.Equal("alice", mounts["/shared-personal"].SubPath);
        Assert.Equal("gpu-dev-ccache", pod.Spec.Volumes.Single(v => v.Name == "ccache").PersistentVolumeClaim.ClaimName);
        Assert.Equal("alice", mounts["/ccache"].SubPath);
        Assert.True(mounts["/gpu-dev/keys"].ReadOnlyProperty);
    }

    [Fact]
    public void Pod_PreserveEntrypoint_KeepsTheImageCommand()
    {
        var pod = Objects.Pod(Spec(options: new EnvironmentOptions { DockerImage = "me/img:2", PreserveEntrypoint = true }), 0, s_p5, "me/img:2");

        Assert.Null(pod.Spec.Containers[0].Command);
        Assert.Equal("me/img:2", pod.Spec.Containers[0].Image);
    }

    [Fact]
    public void GpuTypeLabel_ReplacesTheInstanceTypeSelector()
    {
        _options.GpuTypeLabel = "gpu-dev.io/gpu-type";

        var pod = Objects.Pod(Spec(), 0, s_p5, "img:1");

        Assert.Equal("h100", pod.Spec.NodeSelector["gpu-dev.io/gpu-type"]);
        Assert.False(pod.Spec.NodeSelector.ContainsKey("node.kubernetes.io/instance-type"));
    }

    [Fact]
    public void SshService_IsNodePortOnTheRanksPod()
    {
        var service = Objects.SshService(Spec(), 0);

        Assert.Equal("NodePort", service.Spec.Type);
        Assert.Equal(22, service.Spec.Ports.Single().Port);
        Assert.Equal(Id, service.Spec.Selector["gpu-dev.io/reservation"]);
        Assert.Equal("0", service.Spec.Selector["gpu-dev.io/rank"]);
    }

    [Fact]
    public void Secret_HoldsKeysAndAuthorizedKeysEndWithTheRankKey()
    {
        var host = new HostKeyPair("PRIVATE", "ssh-ed25519 AAAAhost");
        var rank = new HostKeyPair("RANKPRIVATE", "ssh-ed25519 AAAArank");

        var secret = Objects.Secret(Spec(nodes: 2), host, rank, "tok");

        Assert.Equal($"{TestKeys.Ed25519.Trim()}\nssh-ed25519 AAAArank\n", secret.StringData["authorized_keys"]);
        Assert.Equal("*-headless,*-headless.* ssh-ed25519 AAAAhost\n", secret.StringData["known_hosts"]);
        Assert.Equal("tok", secret.StringData["jupyter_token"]);
    }

    [Fact]
    public void Build_IsAKanikoJobPushingToTheRegistry()
    {
        _options.BuildRegistry = "registry.example/gpu-dev/";
        var spec = Spec(options: new EnvironmentOptions { Dockerfile = "FROM busybox\n" });

        var (context, job, auth) = Objects.Build(spec);

        Assert.Null(auth);
        Assert.Equal("FROM busybox\n", context.Data["Dockerfile"]);
        Assert.Contains($"--destination=registry.example/gpu-dev/gpu-dev-build/{Id}:latest", job.Spec.Template.Spec.Containers[0].Args);
        Assert.Contains("--digest-file=/dev/termination-log", job.Spec.Template.Spec.Containers[0].Args);
        Assert.Equal(("/dev/termination-log", "File"), (job.Spec.Template.Spec.Containers[0].TerminationMessagePath, job.Spec.Template.Spec.Containers[0].TerminationMessagePolicy));
        Assert.Equal(0, job.Spec.BackoffLimit);
    }

    [Fact]
    public void Build_WithPerBuildCredentials_KanikoReadsThemAndThePodsPullWithThem()
    {
        _options.BuildRegistry = "registry.example/gpu-dev";
        var spec = Spec(options: new EnvironmentOptions { Dockerfile = "FROM busybox\n" });

        var (_, job, auth) = Objects.Build(spec, "{\"auths\":{}}");

        Assert.NotNull(auth);
        Assert.Equal(($"gpudev-{Id}-build-auth", "kubernetes.io/dockerconfigjson"), (auth.Metadata.Name, auth.Type));
        Assert.Equal("{\"auths\":{}}", auth.StringData[".dockerconfigjson"]);
        var pod = job.Spec.Template.Spec;
        var volume = Assert.Single(pod.Volumes, v => v.Secret is not null);
        Assert.Equal((auth.Metadata.Name, ".dockerconfigjson", "config.json"), (volume.Secret.SecretName, volume.Secret.Items[0].Key, volume.Secret.Items[0].Path));
        Assert.Contains(pod.Containers[0].VolumeMounts, m => m.Name == volume.Name && m.MountPath == "/kaniko/.docker" && m.ReadOnlyProperty == true);
        Assert.Equal(auth.Metadata.Name, Assert.Single(Objects.Pod(spec, 0, s_p5, "img:1", auth.Metadata.Name).Spec.ImagePullSecrets).Name);
        Assert.Null(Objects.Pod(spec, 0, s_p5, "img:1").Spec.ImagePullSecrets);
    }

    [Theory]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("sha256:0123", false)]
    [InlineData("latest", false)]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n", false)]
    [InlineData(null, false)]
    public void BuiltImageByDigest_TakesOnlyASha256Digest(string? digest, bool valid)
    {
        _options.BuildRegistry = "registry.example/gpu-dev/";

        Assert.Equal(valid, EnvironmentObjects.IsDigest(digest));
        if (valid)
        {
            Assert.Equal($"registry.example/gpu-dev/gpu-dev-build/{Id}@{digest}", Objects.BuiltImageByDigest(Id, digest!));
        }
        else
        {
            Assert.Throws<ArgumentException>(() => Objects.BuiltImageByDigest(Id, digest!));
        }
    }

    [Fact]
    public void EveryPod_HasNoServiceAccountToken_AndTheRuntimeDefaultSeccompProfile()
    {
        _options.BuildRegistry = "registry.example/gpu-dev";
        var nsight = new EnvironmentOptions { NodeLabels = new Dictionary<string, string> { ["nsight"] = "true" } };
        var disks = new KubernetesDiskProvider(new k8s.Kubernetes(new k8s.KubernetesClientConfiguration { Host = "http://127.0.0.1:1" }),
            Microsoft.Extensions.Options.Options.Create(_options), TimeProvider.System);

        var specs = new (string What, V1PodSpec Spec)[]
        {
            ("single", Objects.Pod(Spec(), 0, s_p5, "img:1").Spec),
            ("rank 1 of 2", Objects.Pod(Spec(nodes: 2), 1, s_p5, "img:1").Spec),
            ("nsight", Objects.Pod(Spec(options: nsight), 0, s_p5, "img:1").Spec),
            ("kaniko job", Objects.Build(Spec(options: new EnvironmentOptions { Dockerfile = "FROM busybox\n" })).Job.Spec.Template.Spec),
            ("snapshot lister", disks.ListerPod("d1", "s1").Spec),
        };

        Assert.All(specs, s =>
        {
            Assert.True(s.Spec.AutomountServiceAccountToken == false, $"{s.What}: automountServiceAccountToken is not false");
            Assert.True(s.Spec.SecurityContext?.SeccompProfile?.Type == "RuntimeDefault", $"{s.What}: seccompProfile is not RuntimeDefault");
        });
    }

    [Fact]
    public void NetworkPolicy_OwnRanksBothWays_SshAndJupyterIn_DnsAndTheInternetOut_NotMetadataOrClusterRanges()
    {
        var policy = Objects.NetworkPolicy(Spec(nodes: 2));

        var own = new Dictionary<string, string> { ["gpu-dev.io/reservation"] = Id, ["gpu-dev.io/role"] = "environment" };
        Assert.Equal($"gpudev-{Id}-net", policy.Metadata.Name);
        Assert.Equal(Id, policy.Metadata.Labels["gpu-dev.io/reservation"]);
        Assert.Equal(own, policy.Spec.PodSelector.MatchLabels);
        Assert.Equal(["Ingress", "Egress"], policy.Spec.PolicyTypes);

        var (fromRanks, fromOutside) = (policy.Spec.Ingress[0], policy.Spec.Ingress[1]);
        Assert.Equal(2, policy.Spec.Ingress.Count);
        Assert.Equal(own, fromRanks.FromProperty.Single().PodSelector.MatchLabels);
        Assert.Null(fromRanks.Ports);
        Assert.Equal("0.0.0.0/0", fromOutside.FromProperty[0].IpBlock.Cidr);
        Assert.Equal("gpu-dev-server", fromOutside.FromProperty[1].PodSelector.MatchLabels["app.kubernetes.io/name"]);
        Assert.Equal(2, fromOutside.FromProperty.Count);
        Assert.Equal(["TCP/22", "TCP/8888"], fromOutside.Ports.Select(p => $"{p.Protocol}/{p.Port}"));

        Assert.Equal(3, policy.Spec.Egress.Count);
        Assert.Equal(own, policy.Spec.Egress[0].To.Single().PodSelector.MatchLabels);
        Assert.Null(policy.Spec.Egress[0].Ports);
        Assert.Equal("kube-system", policy.Spec.Egress[1].To.Single().NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]);
        Assert.Equal(["UDP/53", "TCP/53"], policy.Spec.Egress[1].Ports.Select(p => $"{p.Protocol}/{p.Port}"));
        var internet = policy.Spec.Egress[2].To.Single().IpBlock;
        Assert.Equal("0.0.0.0/0", internet.Cidr);
        Assert.Equal(["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"], internet.Except);
        Assert.Null(policy.Spec.Egress[2].Ports);
    }

    [Fact]
    public void NetworkPolicy_ConfiguredDeniedRanges_ReplaceTheDefaults()
    {
        _options.EgressDeniedCidrs = ["169.254.169.254/32", "100.64.0.0/10"];

        var policy = Objects.NetworkPolicy(Spec());

        Assert.Equal(["169.254.169.254/32", "100.64.0.0/10"], policy.Spec.Egress[2].To.Single().IpBlock.Except);
    }

    [Theory]
    [InlineData("10.0.0.0")]
    [InlineData("10.0.0.1/8")]
    [InlineData("not-a-cidr")]
    public void Options_Validator_RefusesADeniedRangeThatIsNotACidr(string cidr)
    {
        var result = new KubernetesOptionsValidator().Validate(null, new KubernetesOptions { EgressDeniedCidrs = ["10.0.0.0/8", cidr] });

        Assert.Equal([$"Kubernetes:EgressDeniedCidrs '{cidr}' is not a CIDR with no host bits set (e.g. 10.0.0.0/8)."], result.Failures);
    }

    [Theory]
    [InlineData("a;rm -rf /")]
    [InlineData("../../etc")]
    [InlineData("ABC")]
    [InlineData("x\ny")]
    [InlineData("")]
    public void Names_RefuseIdsThatCouldInject(string id)
    {
        Assert.Throws<ArgumentException>(() => K8sNames.Pod(id, 0));
    }

    [Fact]
    public void EntryScript_IsValidShell()
    {
        var file = Path.Combine(Path.GetTempPath(), $"entry-{Guid.NewGuid():N}.sh");
        File.WriteAllText(file, EntryScript.Text);
        try
        {
            using var sh = Process.Start(new ProcessStartInfo("sh", ["-n", file]) { RedirectStandardError = true })!;
            var error = sh.StandardError.ReadToEnd();
            sh.WaitForExit();
            Assert.True(sh.ExitCode == 0, error);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("100Gi", 107374182400L)]
    [InlineData("500m", 0L)]
    [InlineData("2k", 2000L)]
    [InlineData("8", 8L)]
    public void Quantities_Parse(string text, long bytes)
    {
        Assert.True(Quantities.TryParseBytes(text, out var value));
        Assert.Equal(bytes, value);
    }

    [Fact]
    public void Options_Validator_NamesEveryBrokenRule()
    {
        var result = new KubernetesOptionsValidator().Validate(null, new KubernetesOptions { Namespace = "Bad_NS", NodeAddressType = "Public", ResourceShare = 2, DiskSize = "lots" });

        Assert.True(result.Failed);
        Assert.Equal(4, result.Failures!.Count());
        Assert.Contains(result.Failures!, f => f.Contains("valid: InternalIP, ExternalIP, Hostname", StringComparison.Ordinal));
    }

    private static string? Env(V1Pod pod, string name) => pod.Spec.Containers[0].Env.SingleOrDefault(e => e.Name == name)?.Value;
}

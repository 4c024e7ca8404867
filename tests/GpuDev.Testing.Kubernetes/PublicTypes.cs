using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;

namespace GpuDev.Testing.Kubernetes;

/// <summary>Settings of a <see cref="FakeKubernetesServer"/>.</summary>
public sealed record FakeClusterOptions
{
    /// <summary>How long a scheduled pod takes from bound to Running, and a VolumeSnapshot to become ready.</summary>
    public TimeSpan StartDelay { get; init; } = TimeSpan.Zero;

    /// <summary>The InternalIP of every node and the pods' <c>status.hostIP</c>; NodePorts are checked free on it.</summary>
    public string NodeIp { get; init; } = "127.0.0.1";

    /// <summary>The service node port range (inclusive), like the API server's <c>--service-node-port-range</c>.</summary>
    public (int From, int To) NodePortRange { get; init; } = (30000, 32767);

    /// <summary>How many watch events are kept for watches that resume from a resourceVersion; older ones get 410.</summary>
    public int WatchHistoryLimit { get; init; } = 10_000;

    /// <summary>How often a watch with <c>allowWatchBookmarks=true</c> gets a BOOKMARK event.</summary>
    public TimeSpan BookmarkInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The <c>/version</c> gitVersion.</summary>
    public string KubernetesVersion { get; init; } = "v1.33.1";

    /// <summary>The clock for timestamps and delays.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where Kestrel and the fake log; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }
}

/// <summary>A node of the fake cluster, as <see cref="FakeKubernetesServer.AddNode"/> declared it (or read back from its Node object).</summary>
public sealed record FakeNode(
    string Name,
    int Gpus,
    string InstanceType,
    IReadOnlyDictionary<string, string> Labels,
    string InternalIp,
    int Cpu,
    string Memory,
    int Efa);

/// <summary>What <see cref="FakeKubernetesServer.OnPodStarting"/> gets: the bound pod (a copy), its node and the server.</summary>
public sealed record PodStartContext(JsonObject Pod, FakeNode Node, FakeKubernetesServer Server)
{
    public string Namespace => Pod.Str("metadata", "namespace") ?? "";

    public string Name => Pod.Str("metadata", "name") ?? "";
}

using System.Globalization;
using GpuDev.Core.Compute;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GpuDev.Compute.LocalHost;

/// <summary>The GPUs this host offers (declared, discovered with nvidia-smi, or one simulated h100:8), found once, after
/// checking that podman can run the image here; and the share of the host a container may take.</summary>
internal sealed class LocalNodes(LocalHostOptions options, Podman podman, bool rootless, ILogger logger)
{
    private const string DefaultSimulatedSpec = "h100:8";

    private IReadOnlyList<ComputeNode>? _nodes;

    /// <summary>The nodes; throws <see cref="OptionsValidationException"/> with what is missing for podman, so start-up stops.</summary>
    public async Task<IReadOnlyList<ComputeNode>> DiscoverAsync(CancellationToken cancellationToken)
    {
        if (_nodes is not null)
        {
            return _nodes;
        }

        IReadOnlyList<ComputeNode> nodes;
        if (!string.IsNullOrWhiteSpace(options.Gpus))
        {
            nodes = LocalGpuSpec.Parse(options.Gpus);
            Log.GpusDeclared(logger, options.Gpus);
        }
        else if (ProcessRunner.FindOnPath("nvidia-smi") is { } smi)
        {
            var result = await ProcessRunner.RunAsync(smi, ["--query-gpu=index,name,memory.total", "--format=csv,noheader"], options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            var parsed = result.Succeeded ? NvidiaSmi.ParseQuery(result.StdOut) : null;
            if (parsed is { } gpus)
            {
                nodes = [new ComputeNode("local-0", gpus.GpuType, gpus.Count, Simulated: false)];
                Log.GpusDiscovered(logger, gpus.Count, gpus.GpuType);
            }
            else
            {
                nodes = LocalGpuSpec.Parse(DefaultSimulatedSpec);
                Log.NvidiaSmiFailed(logger, result.Describe("nvidia-smi"), DefaultSimulatedSpec);
            }
        }
        else
        {
            nodes = LocalGpuSpec.Parse(DefaultSimulatedSpec);
            Log.GpusSimulatedByDefault(logger, DefaultSimulatedSpec);
        }

        var problems = await new PodmanCheck(podman, options, rootless).RunAsync(realGpus: nodes.Any(n => !n.Simulated && n.GpuCount > 0), cancellationToken).ConfigureAwait(false);
        if (problems.Count > 0)
        {
            throw new OptionsValidationException(LocalHostOptions.Section, typeof(LocalHostOptions), problems);
        }

        Log.PodmanReady(logger, podman.Runtime is { Length: > 0 } r ? r : "podman's default", rootless ? "rootless" : "as root, container root mapped to per-owner uid ranges", options.DefaultImage);
        _nodes = nodes;
        return nodes;
    }

    /// <summary>What the containers of this host share: <see cref="LocalHostOptions.ResourceShare"/> of its cores and memory.</summary>
    public HostResources HostResources()
    {
        var nodes = _nodes ?? [];
        var memory = 8L << 30;
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var fields = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields is { Length: >= 2 } && long.TryParse(fields[1], CultureInfo.InvariantCulture, out var kib))
            {
                memory = kib * 1024;
            }
        }
        catch (IOException)
        {
            // Keep the default.
        }

        return new HostResources(
            Environment.ProcessorCount * options.ResourceShare, (long)(memory * options.ResourceShare), nodes.Sum(n => n.GpuCount), Math.Max(nodes.Count, 1));
    }

    /// <summary>Whether the reservation's GPUs are real devices (passed through CDI) rather than simulated.</summary>
    public bool RealGpus(EnvironmentSpec spec) =>
        _nodes?.Any(n => !n.Simulated && n.GpuCount > 0 && spec.Allocations.Any(a => a.Node == n.Name)) == true;
}

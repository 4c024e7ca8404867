namespace GpuDev.Compute.LocalHost;

/// <summary>What the provider knows about the server it runs in (the data dir is hidden from sandboxes).</summary>
internal sealed record LocalHostContext(string DataDir);

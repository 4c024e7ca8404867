namespace GpuDev.Compute.LocalHost;

internal enum SandboxMode
{
    None,
    Bubblewrap,
}

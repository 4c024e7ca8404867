namespace GpuDev.Compute.LocalHost;

/// <summary>A Jupyter server started for an environment (<c>&lt;env&gt;/jupyter.json</c>). <paramref name="Pid"/> is the
/// launcher that holds the sandbox (its descendants are Jupyter and its kernels); <paramref name="StartTime"/> guards
/// against pid reuse. <paramref name="Kind"/> is <c>lab</c> or <c>notebook</c>.</summary>
internal sealed record JupyterRecord(int Pid, long StartTime, int Port, string Token, string Kind);

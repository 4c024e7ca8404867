namespace GpuDev.Core.Compute;

/// <summary>A running Jupyter server of a reservation: the URL to open, with its token.</summary>
public sealed record JupyterEndpoint(string Url, string Token);

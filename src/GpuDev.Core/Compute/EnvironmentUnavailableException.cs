namespace GpuDev.Core.Compute;

/// <summary>The provider cannot do what was asked for this environment (e.g. Jupyter is not installed on the
/// host); the message says why, for the user. Nothing was changed.</summary>
public sealed class EnvironmentUnavailableException(string message) : Exception(message);

using GpuDev.Core.Reservations;

namespace GpuDev.Core.Compute;

/// <summary>What a provider reports about one environment. <see cref="Ssh"/> is set once it is known.</summary>
public sealed record EnvironmentStatus(EnvironmentState State, SshEndpoint? Ssh, string? Message = null);

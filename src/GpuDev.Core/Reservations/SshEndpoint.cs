namespace GpuDev.Core.Reservations;

/// <summary>Where the owner reaches a reservation with ssh. <see cref="HostKey"/> is the public host key line, for known_hosts.</summary>
public sealed record SshEndpoint(string Host, int Port, string User, string? HostKey);

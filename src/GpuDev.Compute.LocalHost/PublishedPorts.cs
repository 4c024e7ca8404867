using System.Net;

namespace GpuDev.Compute.LocalHost;

/// <summary>The address containers publish their ports on (<see cref="LocalHostOptions.PublishAddress"/>, else the SSH host
/// when it is an address, else loopback) and the address the server itself probes them at.</summary>
internal static class PublishedPorts
{
    public static IPAddress Address(LocalHostOptions options) => LocalHostOptionsValidator.PublishAddressOf(options) ?? IPAddress.Loopback;

    /// <summary>Where the provider itself reaches published ports (the publish address, or loopback for "every address").</summary>
    public static string ProbeHost(LocalHostOptions options)
    {
        var address = Address(options);
        return address.Equals(IPAddress.Any) ? "127.0.0.1" : address.Equals(IPAddress.IPv6Any) ? "::1" : address.ToString();
    }
}

namespace GpuDev.Compute.LocalHost;

/// <summary>Keeps every other container away from a reservation's network: podman's netavark (1.4, Debian 12) accepts traffic
/// between its bridges (its <c>isolate</c> option is not implemented there), so as root one rule per reservation drops
/// packets forwarded from any podman bridge into the reservation's subnet unless they come from that subnet. It lives in the
/// mangle table, which netavark leaves alone, so it is seen before netavark's own accept rules. Published ports (DNAT from
/// the host or from outside) and the reservation's own traffic are not affected. Rootless networks live in the user's own
/// network namespace and need no rule.</summary>
internal sealed class NetworkIsolation(Podman podman, LocalHostOptions options)
{
    private const string Iptables = "iptables";

    public async Task IsolateAsync(string reservationId, string network, CancellationToken cancellationToken)
    {
        var inspect = await podman.RunCheckedAsync(["network", "inspect", "--format", "{{range .Subnets}}{{.Subnet}} {{end}}", network], cancellationToken).ConfigureAwait(false);
        foreach (var subnet in inspect.StdOut.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (subnet.Contains(':', StringComparison.Ordinal))
            {
                continue; // IPv6 subnets are not created by gpu-dev.
            }

            string[] rule = ["FORWARD", "-i", "podman+", "-d", subnet, "!", "-s", subnet, "-m", "comment", "--comment", Comment(reservationId), "-j", "DROP"];
            var exists = await ProcessRunner.RunAsync(Iptables, ["-w", "-t", "mangle", "-C", .. rule], options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            if (!exists.Succeeded)
            {
                var insert = await ProcessRunner.RunAsync(Iptables, ["-w", "-t", "mangle", "-I", .. rule], options.CommandTimeout, cancellationToken).ConfigureAwait(false);
                if (!insert.Succeeded)
                {
                    throw new InvalidOperationException(insert.Describe("iptables (isolating the reservation's network)"));
                }
            }
        }
    }

    /// <summary>Removes the reservation's rules, found by their comment (so also after its network is gone).</summary>
    public async Task RemoveAsync(string reservationId, CancellationToken cancellationToken)
    {
        var list = await ProcessRunner.RunAsync(Iptables, ["-w", "-t", "mangle", "-S", "FORWARD"], options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (!list.Succeeded)
        {
            return;
        }

        foreach (var line in list.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith("-A FORWARD ", StringComparison.Ordinal) && line.Contains(Comment(reservationId), StringComparison.Ordinal))
            {
                // iptables -S prints each rule as the arguments that add it; none of ours contains quotes or spaces in a value.
                var args = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                args[0] = "-D";
                await ProcessRunner.RunAsync(Iptables, ["-w", "-t", "mangle", .. args.Select(a => a.Trim('"'))], options.CommandTimeout, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static string Comment(string reservationId) => "gpu-dev:" + reservationId;
}

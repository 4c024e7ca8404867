using GpuDev.Core.Compute;
using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost;

/// <summary>The podman container of each rank: started (created, or started again when it stopped) and found again by its
/// labels, so it outlives restarts of this server; removed, with every other container of the reservation, by label.</summary>
internal sealed class RankContainers(
    Podman podman, LocalHostOptions options, PortPicker ports, LocalNodes nodes, string instance, bool rootless, TimeProvider timeProvider, ILogger logger)
{
    private const int MaxPortAttempts = 4;

    /// <summary>The rank's container running: created and started, started again when it stopped, left alone when it runs (then
    /// told to sync, e.g. for new keys). A port taken meanwhile by someone else: another port, a new container.</summary>
    /// <returns>The record, with the new port(s) when one was taken.</returns>
    public async Task<EnvironmentRecord> StartAsync(
        EnvironmentSpec spec, EnvironmentLayout layout, EnvironmentRecord record, int rank, bool fresh, CancellationToken cancellationToken)
    {
        var name = layout.Container(rank);
        for (var attempt = 1; ; attempt++)
        {
            var state = fresh && attempt == 1 ? null : await podman.StateAsync(name, cancellationToken).ConfigureAwait(false);
            ProcessResult result;
            if (state is { Status: "running" })
            {
                await podman.SyncAsync(name, cancellationToken).ConfigureAwait(false);
                return record;
            }
            else if (state is not null)
            {
                result = await podman.RunAsync(["start", name], cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var args = ContainerArgs.Run(
                    spec, layout, record, rank, podman.RunFlags, PublishedPorts.Address(options), nodes.HostResources(), instance, rootless, nodes.RealGpus(spec));
                result = await podman.RunAsync(args, cancellationToken).ConfigureAwait(false);
            }

            if (result.Succeeded)
            {
                return record;
            }

            if (state is null && result.StdErr.Contains("already in use", StringComparison.Ordinal) && attempt < MaxPortAttempts)
            {
                continue; // It existed after all (a record lost in a crash): look at it and start it.
            }

            if (!PortPicker.IsTaken(result) || attempt >= MaxPortAttempts)
            {
                throw new InvalidOperationException(result.Describe($"starting container {name}") + Podman.Detail(result));
            }

            // The port was free when chosen; someone took it since. The container keeps its port for life: make a new one.
            Log.PortTaken(logger, spec.ReservationId, record.Ports[rank]);
            await podman.RunAsync(["rm", "--force", "--ignore", "--time", "0", name], cancellationToken).ConfigureAwait(false);
            var taken = record.Ports.Append(record.JupyterPort).ToList();
            record = record.WithPort(rank, ports.Choose(spec.ReservationId, taken));
            if (rank == 0)
            {
                record = record with { JupyterPort = ports.Choose(spec.ReservationId, [.. taken, record.Ports[0]]) };
            }

            EnvironmentRecordFile.Write(layout, record);
        }
    }

    /// <summary>Removes every container of the reservation, found by label (also those a crash left before the record was
    /// written); the number removed.</summary>
    public async Task<int> RemoveAllAsync(string reservationId, CancellationToken cancellationToken)
    {
        var containers = await podman.RunCheckedAsync(
            ["ps", "-a", "--filter", "label=" + EnvironmentLayout.ReservationLabel + "=" + reservationId, "--format", "{{.Names}}"], cancellationToken).ConfigureAwait(false);
        var names = containers.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        if (names.Count > 0)
        {
            await RemoveAsync(names, cancellationToken).ConfigureAwait(false);
        }

        return names.Count;
    }

    /// <summary>Kills and removes the containers. podman 4.3 sometimes fails to unmount a container's /dev/shm at once ("device or
    /// resource busy") right after killing it; the removal is tried again a few times before it counts as failed.</summary>
    private async Task RemoveAsync(IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var result = await podman.RunAsync(["rm", "--force", "--ignore", "--time", "0", .. names], cancellationToken).ConfigureAwait(false);
            if (result.Succeeded)
            {
                return;
            }

            if (attempt >= 10)
            {
                throw new InvalidOperationException(result.Describe("podman rm") + Podman.Detail(result));
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }
}

using System.Globalization;
using GpuDev.Core.Compute;

namespace GpuDev.Compute.LocalHost;

/// <summary>Whether an environment serves: every rank's container runs and its sshd, reached through the published port,
/// completes an SSH key exchange presenting the environment's host key (with <c>--preserve-entrypoint</c>, the image's own
/// command runs and a running container is all there is to check).</summary>
internal sealed class EnvironmentProbe(Podman podman, LocalHostOptions options, TimeProvider timeProvider)
{
    /// <summary>One look: Failed when a container has died, Ready when every rank shook hands, else Starting.</summary>
    public async Task<EnvironmentStatus> CheckAsync(EnvironmentLayout layout, EnvironmentRecord record, CancellationToken cancellationToken)
    {
        var ready = true;
        for (var rank = 0; rank < record.NodeCount; rank++)
        {
            if (await ContainerProblemAsync(layout, record, rank, cancellationToken).ConfigureAwait(false) is { } problem)
            {
                return Status(EnvironmentState.Failed, layout, record, problem);
            }

            ready = ready && await HandshakeAsync(layout, record, rank, cancellationToken).ConfigureAwait(false);
        }

        return Status(ready ? EnvironmentState.Ready : EnvironmentState.Starting, layout, record, null);
    }

    /// <summary>Waits until every rank passed a handshake (Ready), one container has died (Failed) or the time is up (Starting).</summary>
    public async Task<EnvironmentStatus> WaitReadyAsync(EnvironmentLayout layout, EnvironmentRecord record, CancellationToken cancellationToken)
    {
        var start = timeProvider.GetTimestamp();
        var ready = new bool[record.NodeCount];
        for (var round = 0; ; round++)
        {
            for (var rank = 0; rank < record.NodeCount; rank++)
            {
                if (ready[rank])
                {
                    continue;
                }

                ready[rank] = await HandshakeAsync(layout, record, rank, cancellationToken).ConfigureAwait(false);
                if (!ready[rank] && round % 4 == 3 && await ContainerProblemAsync(layout, record, rank, cancellationToken).ConfigureAwait(false) is { } problem)
                {
                    return Status(EnvironmentState.Failed, layout, record, problem);
                }
            }

            if (ready.All(r => r))
            {
                return Status(EnvironmentState.Ready, layout, record, null);
            }

            if (timeProvider.GetElapsedTime(start) >= options.ReadyTimeout)
            {
                var waiting = string.Join(',', Enumerable.Range(0, record.NodeCount).Where(r => !ready[r]));
                return Status(EnvironmentState.Starting, layout, record,
                    record.NodeCount > 1 ? $"sshd of node(s) {waiting} has not answered an SSH handshake yet" : "sshd has not answered an SSH handshake yet");
            }

            await Task.Delay(options.PollInterval, timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Why the rank's container cannot serve (gone, or exited with its log tail); null while it runs.</summary>
    private async Task<string?> ContainerProblemAsync(EnvironmentLayout layout, EnvironmentRecord record, int rank, CancellationToken cancellationToken)
    {
        var name = layout.Container(rank);
        var state = await podman.StateAsync(name, cancellationToken).ConfigureAwait(false);
        var node = record.NodeCount > 1 ? $"the container of node {rank.ToString(CultureInfo.InvariantCulture)}" : "the container";
        return state switch
        {
            null => $"{node} ({name}) does not exist",
            { Status: "running" } => null,
            { Status: "created" or "initialized" or "configured" } => null,
            // "stopped" is podman's word for an exited container whose clean-up has not run yet (seen right after a kill).
            var (status, code) => $"{node} {(status == "stopped" ? "exited" : status)} (exit code {code.ToString(CultureInfo.InvariantCulture)}): {await podman.LogTailAsync(name, cancellationToken).ConfigureAwait(false)}",
        };
    }

    /// <summary>The status with rank 0's endpoint and, multinode, every rank's endpoint.</summary>
    private EnvironmentStatus Status(EnvironmentState state, EnvironmentLayout layout, EnvironmentRecord record, string? message)
    {
        var hostKey = EnvironmentKeys.HostPublicKey(layout);
        var endpoints = record.Ports.Select(port => new Core.Reservations.SshEndpoint(options.SshHost, port, EnvironmentContract.User, hostKey)).ToList();
        return new EnvironmentStatus(state, endpoints[0], message) { NodeEndpoints = record.NodeCount > 1 ? endpoints : null };
    }

    /// <summary>A real SSH key exchange through the rank's published port, checking that it presents the environment's host key.</summary>
    private async Task<bool> HandshakeAsync(EnvironmentLayout layout, EnvironmentRecord record, int rank, CancellationToken cancellationToken)
    {
        if (record.PreserveEntrypoint)
        {
            return await podman.StateAsync(layout.Container(rank), cancellationToken).ConfigureAwait(false) is { Status: "running" };
        }

        if (EnvironmentKeys.HostPublicKey(layout) is not { } hostKey)
        {
            return false;
        }

        var scan = await ProcessRunner.RunAsync(
            "ssh-keyscan", ["-T", "2", "-p", record.Ports[rank].ToString(CultureInfo.InvariantCulture), "-t", "ed25519", PublishedPorts.ProbeHost(options)],
            options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        foreach (var line in scan.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (!line.StartsWith('#') && fields.Length >= 3 && fields[1] + " " + fields[2] == hostKey)
            {
                return true;
            }
        }

        return false;
    }
}

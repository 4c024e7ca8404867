using System.Globalization;
using GpuDev.Core.Compute;
using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost;

/// <summary>Everything of an environment on this host, step by step, each step safe to repeat: the record (ports, uid range),
/// keys and configuration, homes, the network, then each rank's container. The caller holds the provider's lock.</summary>
internal sealed class EnvironmentCreator(
    string stateDir,
    LocalHostOptions options,
    bool rootless,
    PortPicker ports,
    EnvironmentKeys keys,
    DiskHomes diskHomes,
    ReservationNetwork network,
    RankContainers containers,
    TimeProvider timeProvider,
    ILogger logger)
{
    private OwnerRanges? _ranges;

    private OwnerRanges Ranges => LazyInitializer.EnsureInitialized(ref _ranges, () => new OwnerRanges(stateDir, options.UidBase));

    /// <param name="record">The environment's record when it exists already (a repeated call), else null.</param>
    /// <returns>The record as it is now (ports may have changed when one was taken).</returns>
    public async Task<EnvironmentRecord> CreateAsync(EnvironmentSpec spec, EnvironmentLayout layout, EnvironmentRecord? record, string image, CancellationToken cancellationToken)
    {
        FileWrites.EnsureDir(stateDir, "711");
        FileWrites.EnsureDir(Path.Combine(stateDir, "envs"), "711");
        var isNew = !Directory.Exists(layout.EnvDir);
        FileWrites.EnsureDir(layout.EnvDir, "711");

        // The record is written before any container or network exists: without one, there is nothing to look up.
        var fresh = record is null;
        if (record is null)
        {
            var uidBase = rootless ? 0 : await Ranges.BaseOfAsync(spec.Owner, cancellationToken).ConfigureAwait(false);
            var chosen = new List<int>();
            for (var rank = 0; rank <= spec.Allocations.Count; rank++)
            {
                chosen.Add(ports.Choose(layout.ReservationId, chosen));
            }

            record = new EnvironmentRecord(
                spec.ReservationId, spec.Owner, chosen[..^1], chosen[^1], uidBase, image, timeProvider.GetUtcNow(), spec.DiskId, spec.Options.PreserveEntrypoint);
            EnvironmentRecordFile.Write(layout, record);
        }

        if (isNew)
        {
            Log.Creating(logger, spec.ReservationId, spec.Owner, string.Join(',', record.Ports), record.Image);
        }

        var containerRoot = rootless ? null : record.UidBase.ToString(CultureInfo.InvariantCulture) + ":" + record.UidBase.ToString(CultureInfo.InvariantCulture);
        await keys.WriteAsync(spec, layout, containerRoot, cancellationToken).ConfigureAwait(false);
        FileWrites.EnsureDir(layout.ConfigDir, "755");
        FileWrites.WriteIfChanged(Path.Combine(layout.ConfigDir, EnvironmentContract.EntryFile), EntryScript.Text, "755");
        await PrepareHomesAsync(spec, layout, record, cancellationToken).ConfigureAwait(false);
        await network.EnsureAsync(spec.ReservationId, layout, fresh, cancellationToken).ConfigureAwait(false);
        for (var rank = 0; rank < spec.Allocations.Count; rank++)
        {
            record = await containers.StartAsync(spec, layout, record, rank, fresh, cancellationToken).ConfigureAwait(false);
        }

        return record;
    }

    /// <summary>The directories the container's dev owns: its temporary homes, /shared, the owner's /shared-personal and /ccache;
    /// as root given to dev's host uid, and the named disk attached.</summary>
    private async Task PrepareHomesAsync(EnvironmentSpec spec, EnvironmentLayout layout, EnvironmentRecord record, CancellationToken cancellationToken)
    {
        List<string> owned = [layout.SharedPersonal(spec.Owner), layout.Ccache(spec.Owner)];
        FileWrites.EnsureDir(Path.Combine(stateDir, "shared-personal"), "711");
        FileWrites.EnsureDir(Path.Combine(stateDir, "ccache"), "711");
        for (var rank = 0; rank < spec.Allocations.Count; rank++)
        {
            if (layout.Home(rank) == layout.TempHome(rank))
            {
                owned.Add(layout.TempHome(rank));
            }
        }

        if (spec.Allocations.Count > 1)
        {
            owned.Add(layout.Shared);
        }

        foreach (var dir in owned)
        {
            FileWrites.EnsureDir(dir, "700");
        }

        if (rootless)
        {
            return;
        }

        var owner = record.DevUid.ToString(CultureInfo.InvariantCulture) + ":" + record.DevUid.ToString(CultureInfo.InvariantCulture);
        await ProcessRunner.RunCheckedAsync("chown", [owner, .. owned], options.CommandTimeout, cancellationToken).ConfigureAwait(false);
        if (spec.DiskId is { } diskId)
        {
            await diskHomes.AttachAsync(layout, diskId, (int)record.DevUid, cancellationToken).ConfigureAwait(false);
        }
    }
}

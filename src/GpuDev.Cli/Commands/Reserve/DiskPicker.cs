using GpuDev.Cli.Client;
using GpuDev.Cli.Commands.Disk;
using GpuDev.Cli.Output;
using GpuDev.Contracts;

namespace GpuDev.Cli.Commands.Reserve;

/// <summary>The disk part of <c>gpu-dev reserve</c> on a terminal: a named disk that does not exist can be created (and
/// one in use swapped for a temporary home); without --disk, after the other prompts, the user picks one of their
/// disks, a new one or none.</summary>
internal sealed class DiskPicker(CliServices services)
{
    public const string CreateDiskChoice = "create new…";
    public const string NoDiskChoice = "none (temporary home)";

    internal enum DiskChoiceKind
    {
        Disk,
        InUse,
        Create,
        None,
    }

    internal sealed record DiskChoice(DiskChoiceKind Kind, DiskDto? Disk, string Label);

    /// <summary>The request with its disk settled; <paramref name="prompted"/>: the wizard ran, so a missing --disk is asked for.</summary>
    public async Task<CreateReservationRequest> ResolveAsync(GpuDevClient client, CreateReservationRequest request, bool prompted, CancellationToken ct)
    {
        // A multinode request takes no named disk (the server refuses one): nothing to ask.
        if (request.NoPersist || (request.Disk is null && (!prompted || request.Distributed)))
        {
            return request;
        }

        List<DiskDto> disks;
        try
        {
            disks = await client.ListDisksAsync(null, false, ct).ConfigureAwait(false);
        }
        catch (CliException ex) when (ex.ExitCode == ExitCodes.Failure)
        {
            // A server without disks: let the POST answer.
            return request;
        }

        disks = disks.Where(d => d.Status != "deleted").ToList();
        var console = services.Console;
        if (request.Disk is { } name)
        {
            var disk = disks.FirstOrDefault(d => d.Name == name);
            if (disk is null)
            {
                if (!console.Confirm($"No disk named {name}. Create disk {name}?", defaultValue: false, ct))
                {
                    throw new CliException(ExitCodes.Cancelled, $"no disk named {name}; nothing reserved",
                        $"create it with `gpu-dev disk create {name}`, or use `--disk none` for temporary storage");
                }

                await CreateDiskAsync(client, name, ct).ConfigureAwait(false);
                return request;
            }

            if (disk.Status == "in-use" && request.IgnoreNoPersist)
            {
                console.Error.WriteLine($"note: disk {name} is in use{InUseBy(disk)}; reserving with a temporary /home/dev instead (--ignore-no-persist)");
                return TemporaryHome(request);
            }

            if (disk.Status == "in-use")
            {
                var by = InUseBy(disk);
                if (!console.Confirm($"Disk {name} is in use{by}. Reserve with a temporary home instead (its data is lost at the end)?", defaultValue: false, ct))
                {
                    throw new CliException(ExitCodes.Failure, $"disk {name} is in use{by}",
                        "cancel the reservation using it, or use `--disk none` for temporary storage; see `gpu-dev disk list`");
                }

                return TemporaryHome(request);
            }

            return request;
        }

        var choices = DiskChoices(disks, services.Time.GetUtcNow());
        var labels = choices.Select(c => c.Label).ToList();
        while (true)
        {
            var chosen = choices[console.Select("Disk for /home/dev?", labels, ct)];
            switch (chosen.Kind)
            {
                case DiskChoiceKind.None:
                    return request with { Disk = "none", NoPersist = true };
                case DiskChoiceKind.Create:
                    var newName = AskNewDiskName(disks, ct);
                    await CreateDiskAsync(client, newName, ct).ConfigureAwait(false);
                    return request with { Disk = newName };
                case DiskChoiceKind.InUse:
                    console.Error.WriteLine($"disk {chosen.Disk!.Name} is in use{InUseBy(chosen.Disk)}; pick another");
                    continue;
                default:
                    return request with { Disk = chosen.Disk!.Name };
            }
        }
    }

    private string AskNewDiskName(List<DiskDto> disks, CancellationToken ct)
    {
        var console = services.Console;
        while (true)
        {
            var name = console.Ask($"New disk name ({DiskNames.Rule})?", null, ct).Trim();
            if (DiskNames.Problem(name) is { } problem)
            {
                console.Error.WriteLine(problem);
            }
            else if (disks.Any(d => d.Name == name))
            {
                console.Error.WriteLine($"disk {name} already exists");
            }
            else
            {
                return name;
            }
        }
    }

    private async Task CreateDiskAsync(GpuDevClient client, string name, CancellationToken ct)
    {
        var disk = await client.CreateDiskAsync(name, ct).ConfigureAwait(false);
        services.Console.Error.WriteLine($"Created disk {disk.Name} ({DiskTable.Bytes(disk.QuotaBytes)})");
    }

    /// <summary>Your disks ("pytorch-dev  1.2 GB, last used 2d ago", "old  (in use by abcd1234)"), then
    /// "create new…" and "none (temporary home)". Available disks first, most recently used first.</summary>
    internal static List<DiskChoice> DiskChoices(IReadOnlyList<DiskDto> disks, DateTimeOffset now)
    {
        var width = disks.Select(d => d.Name.Length).DefaultIfEmpty(4).Max();
        var ordered = disks.OrderBy(d => d.Status == "in-use").ThenByDescending(d => d.LastUsedAt ?? d.CreatedAt).ToList();
        var choices = ordered.Select(d =>
        {
            var inUse = d.Status == "in-use";
            var note = inUse
                ? $"(in use by {(d.AttachedTo is { } r ? Format.ShortId(r) : "another reservation")})"
                : $"{DiskTable.Bytes(d.SizeBytes)}, {(d.LastUsedAt is { } u ? $"last used {Format.Relative(u, now)}" : "never used")}{(d.Status == "backing-up" ? ", backing up" : string.Empty)}";
            return new DiskChoice(inUse ? DiskChoiceKind.InUse : DiskChoiceKind.Disk, d, $"{d.Name.PadRight(width)}  {note}");
        }).ToList();
        choices.Add(new DiskChoice(DiskChoiceKind.Create, null, CreateDiskChoice));
        choices.Add(new DiskChoice(DiskChoiceKind.None, null, NoDiskChoice));
        return choices;
    }

    /// <summary>" by reservation abcd1234", or nothing when the server did not say which one holds the disk.</summary>
    private static string InUseBy(DiskDto disk) => disk.AttachedTo is { } r ? $" by reservation {Format.ShortId(r)}" : string.Empty;

    /// <summary>The request with a temporary /home/dev instead of its disk.</summary>
    public static CreateReservationRequest TemporaryHome(CreateReservationRequest request) => request with { Disk = "none", NoPersist = true, RecreateEnv = false };

    /// <summary>True when the request names a disk to mount (not <c>none</c>, not --no-persist).</summary>
    public static bool IsNamedDisk(CreateReservationRequest request) => request.Disk is not null && !DiskNames.IsNone(request.Disk) && !request.NoPersist;
}

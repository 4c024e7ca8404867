using GpuDev.Contracts;
using GpuDev.Core.Compute;
using GpuDev.Core.Disks;
using GpuDev.Server.Api;
using GpuDev.Server.Identity;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace GpuDev.Server.Disks;

/// <summary><c>gpu-dev disk …</c>: a user's named persistent disks.</summary>
public static partial class DisksApi
{
    public static RouteGroupBuilder MapDisksApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/disks").WithTags("Disks");
        group.MapGet("/", ListAsync).WithName("ListDisks");
        group.MapPost("/", CreateAsync).WithName("CreateDisk");
        group.MapDelete("/{name}", DeleteAsync).WithName("DeleteDisk");
        group.MapPost("/{name}/rename", RenameAsync).WithName("RenameDisk");
        group.MapGet("/{name}/content", ContentAsync).WithName("DiskContent");
        group.MapGet("/{name}/snapshots", SnapshotsAsync).WithName("DiskSnapshots");
        group.MapPost("/{name}/restore", RestoreAsync).WithName("RestoreDisk");
        group.MapPost("/{name}/undelete", UndeleteAsync).WithName("UndeleteDisk");
        return api;
    }

    internal static async Task<Results<Ok<List<DiskDto>>, ProblemHttpResult>> ListAsync(
        CurrentUser caller, string? user, bool? all, IDiskStore disks, Core.Storage.IReservationStore store, IOptions<DiskOptions> options, CancellationToken cancellationToken)
    {
        var userId = caller.Id;
        if (user is not null && !string.Equals(user, caller.User.Name, StringComparison.Ordinal))
        {
            if (!caller.IsAdmin)
            {
                return Problems.Forbidden("Only admins can list another user's disks.");
            }

            userId = (await store.FindUserByNameAsync(user, cancellationToken))?.Id;
            if (userId is null)
            {
                return TypedResults.Ok(new List<DiskDto>());
            }
        }

        var list = await disks.ListDisksAsync(userId, includeDeleted: all == true || user is not null, cancellationToken);
        return TypedResults.Ok(list.Select(d => ToDto(d, options.Value)).ToList());
    }

    internal static async Task<Results<Created<DiskDto>, ProblemHttpResult>> CreateAsync(
        CurrentUser caller, CreateDiskRequest body, IDiskStore disks, IDiskProvider provider, TimeProvider time, IOptions<DiskOptions> options, CancellationToken cancellationToken)
    {
        if (!DiskRules.IsValidName(body.Name))
        {
            return Problems.BadRequest($"{DiskRules.NameRule} ('none' is reserved); got '{Truncate(body.Name)}'.", "name");
        }

        // Names are not case-sensitive: MY-PROJECT is my-project (lookups ignore case too).
        if (await disks.FindDiskAsync(caller.Id, body.Name!, includeDeleted: false, cancellationToken) is { } same)
        {
            return Problems.Conflict($"You already have a disk named {same.Name} (disk names are not case-sensitive).");
        }

        var disk = await disks.CreateDiskAsync(caller.Id, body.Name!, time.GetUtcNow(), cancellationToken);
        if (disk is null)
        {
            return Problems.Conflict($"You already have a disk named {body.Name}.");
        }

        await provider.CreateAsync(disk.Id, cancellationToken);
        return TypedResults.Created(Routes.Disk(disk.Name), ToDto(disk, options.Value));
    }

    internal static async Task<Results<Ok<DiskDto>, ProblemHttpResult>> DeleteAsync(
        CurrentUser caller, string name, IDiskStore disks, TimeProvider time, IOptions<DiskOptions> options, CancellationToken cancellationToken)
    {
        if (await disks.FindDiskAsync(caller.Id, name, includeDeleted: false, cancellationToken) is not { } disk)
        {
            return NotFound(name);
        }

        var now = time.GetUtcNow();
        if (!await disks.SoftDeleteDiskAsync(disk.Id, now, now + options.Value.PurgeAfter, cancellationToken))
        {
            return InUse(disk);
        }

        return TypedResults.Ok(ToDto((await disks.GetDiskAsync(disk.Id, cancellationToken))!, options.Value));
    }

    internal static async Task<Results<Ok<DiskDto>, ProblemHttpResult>> RenameAsync(
        CurrentUser caller, string name, RenameDiskRequest body, IDiskStore disks, IOptions<DiskOptions> options, CancellationToken cancellationToken)
    {
        if (!DiskRules.IsValidName(body.NewName))
        {
            return Problems.BadRequest($"{DiskRules.NameRule} ('none' is reserved); got '{Truncate(body.NewName)}'.", "newName");
        }

        if (await disks.FindDiskAsync(caller.Id, name, includeDeleted: false, cancellationToken) is not { } disk)
        {
            return NotFound(name);
        }

        if (await disks.FindDiskAsync(caller.Id, body.NewName!, includeDeleted: false, cancellationToken) is { } other && other.Id != disk.Id)
        {
            return Problems.Conflict($"You already have a disk named {other.Name} (disk names are not case-sensitive).");
        }

        if (!await disks.RenameDiskAsync(disk.Id, body.NewName!, cancellationToken))
        {
            return Problems.Conflict($"You already have a disk named {body.NewName}.");
        }

        return TypedResults.Ok(ToDto((await disks.GetDiskAsync(disk.Id, cancellationToken))!, options.Value));
    }

    internal static async Task<Results<Ok<DiskContentDto>, ProblemHttpResult>> ContentAsync(
        CurrentUser caller, string name, IDiskStore disks, IDiskProvider provider, CancellationToken cancellationToken)
    {
        if (await disks.FindDiskAsync(caller.Id, name, includeDeleted: true, cancellationToken) is not { } disk)
        {
            return NotFound(name);
        }

        if (disk is not { LatestSnapshotId: { } snapshotId })
        {
            return TypedResults.Ok(new DiskContentDto(disk.Name, null, null, []));
        }

        var files = await provider.ListContentAsync(disk.Id, snapshotId, cancellationToken);
        return TypedResults.Ok(new DiskContentDto(disk.Name, snapshotId, disk.LatestSnapshotAt, [.. files.Select(f => new DiskFileDto(f.Path, f.Size))]));
    }

    internal static async Task<Results<Ok<List<DiskSnapshotDto>>, ProblemHttpResult>> SnapshotsAsync(
        CurrentUser caller, string name, IDiskStore disks, CancellationToken cancellationToken)
    {
        if (await disks.FindDiskAsync(caller.Id, name, includeDeleted: true, cancellationToken) is not { } disk)
        {
            return NotFound(name);
        }

        var snapshots = await disks.ListSnapshotsAsync(disk.Id, cancellationToken);
        return TypedResults.Ok(snapshots.Select(s => new DiskSnapshotDto(s.Id, s.CreatedAt, s.SizeBytes, s.FileCount, s.ReservationId)).ToList());
    }

    internal static async Task<Results<Ok<DiskDto>, ProblemHttpResult>> RestoreAsync(
        CurrentUser caller, string name, RestoreDiskRequest body, IDiskStore disks, IDiskProvider provider, IOptions<DiskOptions> options, TimeProvider timeProvider,
        CancellationToken cancellationToken)
    {
        if (await disks.FindDiskAsync(caller.Id, name, includeDeleted: false, cancellationToken) is not { } disk)
        {
            return NotFound(name);
        }

        var snapshots = await disks.ListSnapshotsAsync(disk.Id, cancellationToken);
        var snapshot = body.SnapshotId is null ? snapshots.FirstOrDefault() : snapshots.FirstOrDefault(s => s.Id.StartsWith(body.SnapshotId, StringComparison.Ordinal));
        if (snapshot is null)
        {
            return Problems.Create(StatusCodes.Status404NotFound, ProblemCodes.NotFound, "No such snapshot.",
                body.SnapshotId is null ? $"Disk {disk.Name} has no snapshot yet." : $"Disk {disk.Name} has no snapshot {Truncate(body.SnapshotId)}; see gpu-dev disk snapshots {disk.Name}.");
        }

        if (!await disks.BeginRestoreAsync(disk.Id, Processing.LeaseOwners.ThisProcess, timeProvider.GetUtcNow(), cancellationToken))
        {
            return InUse(disk);
        }

        try
        {
            await provider.RestoreAsync(disk.Id, snapshot.Id, CancellationToken.None);
        }
        finally
        {
            await disks.EndRestoreAsync(disk.Id, await provider.UsageAsync(disk.Id, CancellationToken.None), CancellationToken.None);
        }

        return TypedResults.Ok(ToDto((await disks.GetDiskAsync(disk.Id, cancellationToken))!, options.Value));
    }

    internal static async Task<Results<Ok<DiskDto>, ProblemHttpResult>> UndeleteAsync(
        CurrentUser caller, string name, IDiskStore disks, IOptions<DiskOptions> options, CancellationToken cancellationToken)
    {
        var disk = await disks.FindDiskAsync(caller.Id, name, includeDeleted: true, cancellationToken);
        if (disk is not { Status: DiskStatus.Deleted })
        {
            return disk is null
                ? Problems.Create(StatusCodes.Status404NotFound, ProblemCodes.NotFound, "No such disk.", $"You have no deleted disk named {Truncate(name)} (or it was purged).")
                : Problems.Conflict($"Disk {disk.Name} is not deleted.");
        }

        if (!await disks.UndeleteDiskAsync(disk.Id, cancellationToken))
        {
            return Problems.Conflict($"You have another disk named {disk.Name}; rename it first.");
        }

        return TypedResults.Ok(ToDto((await disks.GetDiskAsync(disk.Id, cancellationToken))!, options.Value));
    }

    internal static DiskDto ToDto(Disk disk, DiskOptions options) => new()
    {
        Name = disk.Name,
        User = disk.UserName,
        Status = disk.Status.ToWire(),
        SizeBytes = disk.SizeBytes,
        QuotaBytes = options.QuotaBytes,
        CreatedAt = disk.CreatedAt,
        LastUsedAt = disk.LastUsedAt,
        SnapshotCount = disk.SnapshotCount,
        LatestSnapshotAt = disk.LatestSnapshotAt,
        AttachedTo = disk.AttachedReservationId,
        DeletedAt = disk.DeletedAt,
        PurgeAt = disk.PurgeAt,
    };

    /// <param name="forReservation">The refusal of a new reservation, where a temporary home is the way round; elsewhere
    /// (delete, restore) only ending the holder helps.</param>
    internal static ProblemHttpResult InUse(Disk disk, bool forReservation = false) => disk.Status switch
    {
        DiskStatus.BackingUp => Problems.Conflict($"Disk {disk.Name} is being backed up after reservation {Short(disk.AttachedReservationId)} ended; try again in a moment."),
        _ when forReservation => Problems.Conflict($"Disk {disk.Name} is in use by reservation {Short(disk.AttachedReservationId)}; cancel it or use --disk none."),
        _ => Problems.Conflict($"Disk {disk.Name} is in use by reservation {Short(disk.AttachedReservationId)}; it can be changed once that reservation ends (gpu-dev cancel {Short(disk.AttachedReservationId)})."),
    };

    internal static ProblemHttpResult NotFound(string name) =>
        Problems.Create(StatusCodes.Status404NotFound, ProblemCodes.NotFound, "No such disk.", $"You have no disk named {Truncate(name)}; create it with: gpu-dev disk create {Truncate(name)}");

    private static string Short(string? id) => id is null ? "?" : id[..Math.Min(8, id.Length)];

    private static string Truncate(string? value) => value is null ? "" : value.Length > 70 ? value[..70] + "…" : value;
}

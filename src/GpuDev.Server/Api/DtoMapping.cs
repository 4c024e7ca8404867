using System.Globalization;
using GpuDev.Contracts;
using GpuDev.Core.Catalog;
using GpuDev.Core.Reservations;

namespace GpuDev.Server.Api;

/// <summary>Domain to wire. Domain enums become wire strings here and nowhere else.</summary>
internal static class DtoMapping
{
    /// <param name="reservation">The reservation.</param>
    /// <param name="withAccess">False when the caller may see but not enter it (others' reservations in <c>list --user all</c>):
    /// then only owner, type, count, status and times.</param>
    /// <param name="canEdit">False for an added user (may show and connect, not cancel or edit).</param>
    public static ReservationDto ToDto(this Reservation reservation, bool withAccess, bool canEdit = true)
    {
        // What anyone who may list it sees (others' reservations in list --user all): who holds what, and when; no name,
        // reasons, history, placement or connection details (reasons and history carry build logs, termination messages
        // and addresses).
        var summary = new ReservationDto
        {
            Id = reservation.Id,
            User = reservation.UserName,
            CreatedAt = reservation.CreatedAt,
            Status = reservation.Status.ToWire(),
            GpuType = reservation.GpuType,
            GpuCount = reservation.GpuCount,
            Hours = reservation.Hours,
            NodeCount = reservation.NodeCount,
            StartedAt = reservation.StartedAt,
            ExpiresAt = reservation.ExpiresAt,
            EndedAt = reservation.EndedAt,
            QueuePosition = reservation.QueuePosition,
            EstimatedStartAt = reservation.EstimatedStartAt,
            LikelyStartAt = reservation.LikelyStartAt,
            ExtendedHours = reservation.ExtendedHours,
            CanEdit = false,
        };
        if (!withAccess)
        {
            return summary;
        }

        return summary with
        {
            Name = reservation.Name,
            StatusReason = reservation.StatusReason,
            Jupyter = reservation.Jupyter,
            Disk = reservation.DiskName,
            Ssh = reservation.Ssh is { } ssh && !reservation.Status.IsTerminal() ? ToDto(ssh) : null,
            WaitReason = reservation.WaitReason,
            Nodes = [.. reservation.Allocations.Select(a => new NodeAllocationDto(a.Rank, a.Node, a.GpuIndices)
            {
                Ssh = a.Ssh is { } nodeSsh && !reservation.Status.IsTerminal() ? ToDto(nodeSsh) : null,
            })],
            JupyterUrl = reservation.Status == ReservationStatus.Active ? reservation.JupyterUrl : null,
            AddedUsers = reservation.AddedUsers,
            Warnings = [.. reservation.Warnings.Where(w => w.Message is not null).Select(w => new WarningDto(w.At, w.MinutesBefore, w.Message!))],
            CanEdit = canEdit,
            History = [.. reservation.History.Select(h => new HistoryEntryDto(h.At, h.From?.ToWire(), h.To.ToWire(), h.Reason))],
        };
    }

    private static SshInfoDto ToDto(SshEndpoint ssh) => new()
    {
        Host = ssh.Host,
        Port = ssh.Port,
        User = ssh.User,
        Command = string.Create(CultureInfo.InvariantCulture, $"ssh -p {ssh.Port} {ssh.User}@{ssh.Host}"),
        HostKey = ssh.HostKey,
    };

    public static GpuTypeDto ToDto(this GpuType type) =>
        new(type.Name, type.InstanceType, type.GpusPerNode, type.MemoryGbPerGpu, type.Description, type.IsCpuOnly);

    public static ReservationRequest ToDomain(this CreateReservationRequest request) => new()
    {
        GpuType = request.GpuType,
        GpuCount = request.GpuCount,
        Hours = request.Hours,
        Name = request.Name,
        Jupyter = request.Jupyter,
        Disk = request.Disk,
        NoPersist = request.NoPersist,
        IgnoreNoPersist = request.IgnoreNoPersist,
        RecreateEnv = request.RecreateEnv,
        Distributed = request.Distributed,
        DockerImage = request.DockerImage,
        Dockerfile = request.Dockerfile,
        BuildContext = request.BuildContext,
        PreserveEntrypoint = request.PreserveEntrypoint,
        NodeLabels = request.NodeLabels,
    };
}

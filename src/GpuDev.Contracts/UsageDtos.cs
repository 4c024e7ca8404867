namespace GpuDev.Contracts;

/// <summary><c>GET /api/v1/usage</c> (<c>gpu-dev usage</c>): GPU-hours booked and used in the window from
/// <see cref="Since"/> to <see cref="At"/>, one row per user and GPU type (ordered by user, then type), and the totals.
/// Counted: every reservation that existed in the window (still live, or ended after <see cref="Since"/>).
/// Used: GPUs × the time it held them (from start to end, or to now while live) inside the window.
/// Booked: GPUs × its booked term (start to start + hours + extension) from <see cref="Since"/> on, the hours still
/// ahead of a live one included. A reservation that never started counts with 0 of each.
/// GPU-hours are rounded to 4 decimals; a total is rounded from the exact sum, not added from rounded rows.</summary>
public sealed record UsageReportDto
{
    /// <summary>Start of the window (UTC).</summary>
    public DateTimeOffset Since { get; init; }

    /// <summary>End of the window: the server's time of the answer.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>The user asked about; null for every user (an admin's report).</summary>
    public string? User { get; init; }

    public IReadOnlyList<UsageRowDto> Rows { get; init; } = [];

    public UsageTotalDto Total { get; init; } = new(0, 0, 0);
}

/// <summary>One user's reservations of one GPU type in a <see cref="UsageReportDto"/>.</summary>
public sealed record UsageRowDto(string User, string GpuType, int Reservations, double BookedGpuHours, double UsedGpuHours);

/// <summary>The sums over every row of a <see cref="UsageReportDto"/>.</summary>
public sealed record UsageTotalDto(int Reservations, double BookedGpuHours, double UsedGpuHours);

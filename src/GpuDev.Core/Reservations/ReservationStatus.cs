namespace GpuDev.Core.Reservations;

public enum ReservationStatus
{
    Pending,
    Queued,
    Preparing,
    Active,
    Expired,
    Cancelled,
    Failed,
}

namespace GpuDev.Core.Reservations;

public sealed class InvalidTransitionException(ReservationStatus from, ReservationStatus to)
    : InvalidOperationException($"A reservation cannot go from {from.ToWire()} to {to.ToWire()}.")
{
    public ReservationStatus From { get; } = from;

    public ReservationStatus To { get; } = to;
}

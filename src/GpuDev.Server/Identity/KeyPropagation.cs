using GpuDev.Core.Compute;
using GpuDev.Core.Identity;
using GpuDev.Core.Reservations;
using GpuDev.Core.Storage;

namespace GpuDev.Server.Identity;

/// <summary>Gives a user's active reservations the user's current set of keys after the user changed them (as an edit
/// that adds users does): their environments are ensured again with the new authorized keys. A reservation still
/// preparing gets them when it is provisioned. One that cannot be reached now is logged and left; the stored keys are
/// what its next provisioning uses.</summary>
internal sealed partial class KeyPropagation(IReservationStore store, KeyCollector keys, IComputeProvider provider, ILogger<KeyPropagation> logger)
{
    /// <summary>The ids of the reservations that were given the new keys.</summary>
    public async Task<List<string>> ApplyAsync(User user, CancellationToken cancellationToken)
    {
        var active = await store.ListReservationsAsync(new ReservationQuery(user.Id, [ReservationStatus.Active]), cancellationToken);
        var updated = new List<string>();
        foreach (var reservation in active)
        {
            try
            {
                var authorized = await keys.CollectAsync(reservation, cancellationToken);
                await provider.EnsureEnvironmentAsync(Processing.ProvisionHandler.ToSpec(reservation, authorized), cancellationToken);
                updated.Add(reservation.Id);
            }
            catch (EnvironmentUnavailableException e)
            {
                LogNotUpdated(logger, reservation.Id, user.Name, e.Message);
            }
        }

        return updated;
    }

    [LoggerMessage(EventId = 1160, Level = LogLevel.Warning, Message = "Reservation {ReservationId} of {User} did not get the new SSH keys: {Message}")]
    private static partial void LogNotUpdated(ILogger logger, string reservationId, string user, string message);
}

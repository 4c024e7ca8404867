using GpuDev.Core.Compute;
using GpuDev.Core.Identity;
using GpuDev.Core.Jobs;
using GpuDev.Core.Reservations;

namespace GpuDev.Core.Storage;

/// <summary>Durable state: users, nodes, GPU allocations, reservations with their history.</summary>
public interface IReservationStore
{
    /// <summary>Creates or migrates the schema.</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Creates a user with their first token (<paramref name="tokenHash"/>, a bootstrap token lasting a year).</summary>
    Task<User> AddUserAsync(string name, string? githubUser, bool isAdmin, string tokenHash, IReadOnlyList<string> sshKeys, CancellationToken cancellationToken);

    Task<User?> FindUserByNameAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<string>> GetSshKeysAsync(string userId, CancellationToken cancellationToken);

    /// <summary>Sets (or with null clears) the user's GitHub login, whose keys their reservations accept; false if no such user.</summary>
    Task<bool> SetGithubUserAsync(string userId, string? githubUser, CancellationToken cancellationToken);

    /// <summary>Makes the stored fleet match <paramref name="nodes"/>. Nodes that disappeared keep existing
    /// allocations until released but take no new ones.</summary>
    Task SyncNodesAsync(IReadOnlyList<ComputeNode> nodes, CancellationToken cancellationToken);

    /// <summary>Nodes that take new reservations.</summary>
    Task<IReadOnlyList<ComputeNode>> GetNodesAsync(CancellationToken cancellationToken);

    Task<IReadOnlyList<GpuAllocation>> GetAllocationsAsync(CancellationToken cancellationToken);

    /// <summary>Stores a new reservation with its creation history entry and follow-up job. With an
    /// idempotency key already used by the same user, returns the earlier reservation and Created = false.
    /// A reservation with a <see cref="Reservation.DiskId"/> claims that disk in the same transaction; when the disk
    /// is not available, <see cref="Disks.DiskInUseException"/> is thrown and nothing is written.</summary>
    /// <summary>Whether the user created a reservation with this idempotency key already (a retry answers with it).</summary>
    Task<bool> IdempotencyKeyUsedAsync(string userId, string idempotencyKey, CancellationToken cancellationToken);

    Task<(Reservation Reservation, bool Created)> CreateReservationAsync(Reservation reservation, string? idempotencyKey, JobRequest? followUp, CancellationToken cancellationToken);

    Task<Reservation?> GetReservationAsync(string id, CancellationToken cancellationToken);

    /// <summary>Reservations matching the query, oldest first.</summary>
    Task<IReadOnlyList<Reservation>> ListReservationsAsync(ReservationQuery query, CancellationToken cancellationToken);

    /// <summary>Applies a transition if the reservation is still in <see cref="ReservationTransition.From"/>;
    /// returns false (writing nothing) if it is not. Throws <see cref="InvalidTransitionException"/> for an
    /// illegal change and <see cref="AllocationConflictException"/> when a GPU is taken.</summary>
    Task<bool> TransitionAsync(ReservationTransition transition, CancellationToken cancellationToken);

    /// <summary>Frees every GPU the reservation holds (after its environment is gone).</summary>
    Task ReleaseAllocationsAsync(string reservationId, CancellationToken cancellationToken);

    Task UpdateWaitInfoAsync(IReadOnlyList<WaitInfo> waitInfo, CancellationToken cancellationToken);

    /// <summary>Applies an edit to a reservation that is still active, in one transaction; false (nothing written) if it is not.</summary>
    Task<bool> EditActiveAsync(ReservationEdit edit, CancellationToken cancellationToken);

    /// <summary>Records due warning thresholds (once each, ever) and the job that delivers them, in one transaction.
    /// <paramref name="deliver"/> gets <paramref name="message"/>; the other thresholds are recorded as skipped.
    /// False when any of them was recorded before.</summary>
    Task<bool> RecordWarningsAsync(string reservationId, IReadOnlyList<int> thresholds, int deliver, string message, DateTimeOffset at, JobRequest followUp, CancellationToken cancellationToken);

    /// <summary>Adds a history entry that records an event without a status change (e.g. "image pull failed, retrying"),
    /// if the reservation is still in <paramref name="whileIn"/>; false (nothing written) if it is not.</summary>
    Task<bool> AddNoteAsync(string reservationId, ReservationStatus whileIn, string note, DateTimeOffset at, CancellationToken cancellationToken);

    Task MarkWarningDeliveredAsync(string reservationId, int minutesBefore, DateTimeOffset at, CancellationToken cancellationToken);
}

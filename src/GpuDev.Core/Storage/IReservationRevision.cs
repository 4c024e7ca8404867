namespace GpuDev.Core.Storage;

/// <summary>Numbers that move whenever anything a reservation's answer is built from changes (its row, history, nodes,
/// added users, warnings, its owner's name or its disk's name), whoever wrote it: the API's read cache keeps an answer
/// only while they stay what they were when the answer was read. Read them before the data they will validate.</summary>
public interface IReservationRevision
{
    /// <summary>The store's revision: moves with any such change to any reservation. Null where the store cannot tell
    /// cheaply and exactly (nothing is cached then).</summary>
    ValueTask<long?> CurrentAsync(CancellationToken cancellationToken);

    /// <summary>One reservation's revision (by full id): moves with any such change to it. Null when there is no such
    /// reservation or the store cannot tell.</summary>
    ValueTask<long?> OfReservationAsync(string reservationId, CancellationToken cancellationToken);
}

/// <summary>For stores without revisions: every read goes to the store.</summary>
public sealed class NoReservationRevision : IReservationRevision
{
    public static readonly NoReservationRevision Instance = new();

    public ValueTask<long?> CurrentAsync(CancellationToken cancellationToken) => ValueTask.FromResult<long?>(null);

    public ValueTask<long?> OfReservationAsync(string reservationId, CancellationToken cancellationToken) => ValueTask.FromResult<long?>(null);
}

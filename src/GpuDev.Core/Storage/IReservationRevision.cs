namespace GpuDev.Core.Storage;

/// <summary>A number that changes whenever anything a reservation's answer is built from changes (its row, history,
/// nodes, added users, warnings, its owner's name or its disk's name), whoever wrote it: the API's read cache keeps an
/// answer only while this number stays what it was when the answer was read.</summary>
public interface IReservationRevision
{
    /// <summary>The current revision, read before the data it will validate; null where the store cannot tell cheaply
    /// and exactly (nothing is cached then).</summary>
    ValueTask<long?> CurrentAsync(CancellationToken cancellationToken);
}

/// <summary>For stores without a revision: every read goes to the store.</summary>
public sealed class NoReservationRevision : IReservationRevision
{
    public static readonly NoReservationRevision Instance = new();

    public ValueTask<long?> CurrentAsync(CancellationToken cancellationToken) => ValueTask.FromResult<long?>(null);
}

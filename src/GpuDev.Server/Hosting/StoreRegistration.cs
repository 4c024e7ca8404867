using GpuDev.Storage.Postgres;
using GpuDev.Storage.Sqlite;

namespace GpuDev.Server.Hosting;

/// <summary>The one place where the store choice becomes an implementation: the server (<see cref="ServerApp"/>) and
/// <c>gpu-dev-server user add</c> (<see cref="UserCommand"/>) both register their storage through it.</summary>
internal static class StoreRegistration
{
    /// <summary>Registers every storage port for <paramref name="choice"/>, which must be known and complete
    /// (<see cref="StoreChoice.IsKnown"/>, <see cref="StoreChoice.LacksConnectionString"/>); SQLite keeps its file in
    /// <paramref name="dataDir"/>. The ports need a registered <see cref="TimeProvider"/>.</summary>
    public static IServiceCollection Add(IServiceCollection services, StoreChoice choice, string dataDir) => choice.Provider switch
    {
        StoreChoice.PostgreSql => services.AddPostgresStorage(choice.Postgres!),
        StoreChoice.Sqlite => services.AddSqliteStorage(Path.GetFullPath(dataDir)),
        _ => throw new ArgumentException($"Unknown store '{choice.Provider}'.", nameof(choice)),
    };

    /// <summary>Why the chosen database cannot be reached (one line), or null when it can or needs no connection.</summary>
    public static Task<string?> CheckConnectionAsync(StoreChoice choice, CancellationToken cancellationToken) =>
        choice.Provider == StoreChoice.PostgreSql
            ? PostgresStorageExtensions.CheckConnectionAsync(choice.Postgres!, cancellationToken)
            : Task.FromResult<string?>(null);
}

namespace GpuDev.Server.Hosting;

/// <summary>Which store the server uses: <c>Storage:Provider</c> (<c>--store</c>) and, for PostgreSQL, the connection
/// string (<c>Storage:Postgres</c>, <c>--postgres</c>). <see cref="StoreRegistration"/> turns it into the registered
/// storage ports.</summary>
internal sealed record StoreChoice(string Provider, string? Postgres)
{
    public const string Sqlite = "sqlite";
    public const string PostgreSql = "postgres";

    public static IReadOnlyList<string> Providers { get; } = [Sqlite, PostgreSql];

    public bool IsKnown => Providers.Contains(Provider, StringComparer.Ordinal);

    /// <summary>PostgreSQL was chosen without a connection string.</summary>
    public bool LacksConnectionString => Provider == PostgreSql && string.IsNullOrWhiteSpace(Postgres);
}

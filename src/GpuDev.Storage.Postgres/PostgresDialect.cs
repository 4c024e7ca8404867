using System.Data.Common;
using System.Globalization;
using Npgsql;

namespace GpuDev.Storage.Postgres;

/// <summary>PostgreSQL's side of the shared SQL, for several server replicas on one database. Writes run at READ
/// COMMITTED (Npgsql's default transaction) and rely on row locks and constraints for the guarantees SQLite's single
/// writer gives; jobs are claimed with <c>FOR UPDATE SKIP LOCKED</c>.</summary>
public sealed class PostgresDialect : SqlDialect
{
    private const string UniqueViolation = "23505";

    private PostgresDialect()
    {
    }

    public static PostgresDialect Instance { get; } = new();

    protected override IReadOnlyList<string> Migrations => PostgresSchema.Migrations;

    protected override string CreateVersionTable =>
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());";

    protected override string VersionTable => "schema_migrations";

    /// <summary>A transaction-level advisory lock: replicas starting at once migrate one after another.</summary>
    protected override string MigrationLock => string.Create(CultureInfo.InvariantCulture, $"SELECT pg_advisory_xact_lock({PostgresSchema.MigrationLock});");

    protected override bool IsUniqueViolation(DbException exception, string? index = null) =>
        exception is PostgresException { SqlState: UniqueViolation } e && (index is null || e.ConstraintName == index);

    /// <summary>Text cannot hold NUL (Npgsql refuses to send it), so such a value matches nothing stored.</summary>
    protected override bool CanStore(string? value) => value?.Contains('\0', StringComparison.Ordinal) != true;

    /// <summary>The "C" collation (byte order, as SQLite's BINARY) whatever the database's default collation.</summary>
    protected override string ByteOrder(string column) => $"{column} COLLATE \"C\"";

    /// <summary><c>lower</c> on both sides, which the expression indexes on <c>lower(column)</c> serve.</summary>
    protected override string EqualsIgnoringCase(string column, string parameter) => $"lower({column}) = lower({parameter})";

    protected override string SkipLocked => " FOR UPDATE SKIP LOCKED";

    protected override string ForUpdate => " FOR UPDATE";

    protected override string LockForWrite(string table) => $"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE;";

    protected override string InsertIgnoringDuplicate(string intoValues) => $"INSERT INTO {intoValues} ON CONFLICT DO NOTHING;";

    /// <summary>One array parameter, however many values.</summary>
    protected override string InList(string column, string name, IReadOnlyList<string> values, ICollection<(string Name, object? Value)> parameters)
    {
        parameters.Add((name, values.ToArray()));
        return $"{column} = ANY(@{name})";
    }

    protected override string KeyPrefix(string column, string name, string prefix, ICollection<(string Name, object? Value)> parameters) =>
        StartsWith(column, name, prefix, parameters);

    /// <summary>A key range under the "C" collation (byte order, as SQLite's binary collation), so an index on
    /// <c>(column COLLATE "C")</c> serves it whatever the database's default collation; <c>starts_with</c> keeps the
    /// result exact at the range's edges.</summary>
    protected override string StartsWith(string column, string name, string prefix, ICollection<(string Name, object? Value)> parameters)
    {
        parameters.Add((name, prefix));
        if (prefix.Length == 0)
        {
            return "true";
        }

        var last = prefix[^1];
        if (char.IsSurrogate(last) || last >= '\uD7FF')
        {
            return $"starts_with({column}, @{name}::text)";
        }

        parameters.Add(($"{name}End", prefix[..^1] + (char)(last + 1)));
        return $"{column} COLLATE \"C\" >= @{name}::text AND {column} COLLATE \"C\" < @{name}End::text AND starts_with({column}, @{name}::text)";
    }
}

using System.Data.Common;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace GpuDev.Storage.Sqlite;

/// <summary>SQLite's side of the shared SQL. One writer at a time: every write transaction starts with
/// <c>BEGIN IMMEDIATE</c>, so no row locks, table locks or migration lock are needed.</summary>
public sealed partial class SqliteDialect : SqlDialect
{
    private SqliteDialect()
    {
    }

    public static SqliteDialect Instance { get; } = new();

    protected override IReadOnlyList<string> Migrations => SqliteSchema.Migrations;

    protected override string CreateVersionTable => "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);";

    protected override string VersionTable => "schema_version";

    /// <summary>WAL lets readers run beside the writer; the setting is kept in the file and cannot change inside a transaction.</summary>
    protected override string BeforeMigrations => "PRAGMA journal_mode=WAL;";

    /// <summary>A non-deferred transaction, <c>BEGIN IMMEDIATE</c>: it takes the write lock up front (waiting up to the
    /// busy timeout), so a read-then-write never fails halfway on a lock held by another writer. This is what
    /// <c>BeginTransactionAsync()</c> has always given here, spelt out.</summary>
    protected override ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));
    }

    /// <summary>Drops the PostgreSQL parameter casts (<c>@name::text</c>): SQLite has no such syntax and needs no types.</summary>
    protected override string Translate(string sql) => PostgresCast().Replace(sql, "");

    /// <summary>Any constraint failure (SQLITE_CONSTRAINT), as the store has always treated it. SQLite's message names
    /// columns, not the index, so a check for one <paramref name="index"/> answers false; no caller needs it here, as
    /// the single writer has already checked within the same transaction.</summary>
    protected override bool IsUniqueViolation(DbException exception, string? index = null) =>
        index is null && exception is SqliteException { SqliteErrorCode: 19 };

    /// <summary>The default collation, BINARY, is byte order; a column declared <c>COLLATE NOCASE</c> keeps its own.</summary>
    protected override string ByteOrder(string column) => column;

    /// <summary>The unary plus makes the column an expression no index serves.</summary>
    protected override string WithoutIndex(string column) => $"+{column}";

    /// <summary>A plain comparison: the columns compared so are declared <c>COLLATE NOCASE</c> (ASCII case folding, as
    /// SQLite's <c>lower</c>), which keeps their index in use.</summary>
    protected override string EqualsIgnoringCase(string column, string parameter) => $"{column} = {parameter}";

    protected override string InsertIgnoringDuplicate(string intoValues) => $"INSERT OR IGNORE INTO {intoValues};";

    protected override string NextValue(string table, string column) => $"(SELECT COALESCE(MAX({column}), 0) + 1 FROM {table})";

    /// <summary>Well under SQLite's limit of bound parameters per statement.</summary>
    protected override int MaxInList => 500;

    protected override string InList(string column, string name, IReadOnlyList<string> values, ICollection<(string Name, object? Value)> parameters)
    {
        var names = values.Select((value, i) => (Name: $"{name}{i}", Value: (object?)value)).ToList();
        foreach (var parameter in names)
        {
            parameters.Add(parameter);
        }

        return $"{column} IN ({string.Join(", ", names.Select(n => "@" + n.Name))})";
    }

    /// <summary>A key range under the binary collation, which the primary key serves.</summary>
    protected override string KeyPrefix(string column, string name, string prefix, ICollection<(string Name, object? Value)> parameters)
    {
        parameters.Add((name, prefix));
        parameters.Add(($"{name}End", prefix[..^1] + (char)(prefix[^1] + 1)));
        return $"{column} >= @{name} AND {column} < @{name}End";
    }

    protected override string StartsWith(string column, string name, string prefix, ICollection<(string Name, object? Value)> parameters)
    {
        parameters.Add((name, prefix));
        return $"substr({column}, 1, length(@{name})) = @{name}";
    }

    [GeneratedRegex(@"::(?:text|bigint|integer|boolean|jsonb|double precision)\b")]
    private static partial Regex PostgresCast();
}

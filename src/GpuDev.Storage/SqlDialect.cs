using System.Data.Common;

namespace GpuDev.Storage;

/// <summary>What the stores' SQL says differently on each database; everything else is written once.</summary>
/// <remarks>The SQL is written once, in the subset PostgreSQL and SQLite share, with named <c>@name</c> parameters
/// (native to both). Parameters that may be NULL where PostgreSQL cannot infer their type carry a PostgreSQL cast
/// (<c>@name::text</c>), which <see cref="Translate"/> removes for databases without that syntax. Times are
/// Unix milliseconds in 64-bit integer columns on both (<see cref="SqlTime"/>).</remarks>
public abstract class SqlDialect
{
    /// <summary>The migrations, in order; migration <c>i</c> brings the schema to version <c>i + 1</c>.</summary>
    protected internal abstract IReadOnlyList<string> Migrations { get; }

    /// <summary>The statement that creates the table recording applied versions (a <c>version</c> column), if missing.</summary>
    protected internal abstract string CreateVersionTable { get; }

    /// <summary>The table <see cref="CreateVersionTable"/> creates.</summary>
    protected internal abstract string VersionTable { get; }

    /// <summary>A statement run once before the migration transaction (a database setting that cannot change inside
    /// one); null for none.</summary>
    protected internal virtual string? BeforeMigrations => null;

    /// <summary>A statement, first in the migration transaction, that makes replicas starting at once migrate in turn;
    /// null where the write transaction already excludes other writers.</summary>
    protected internal virtual string? MigrationLock => null;

    /// <summary>Starts a transaction for a write: a state change and its follow-up job commit (or roll back) together.</summary>
    protected internal virtual async ValueTask<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(cancellationToken);

    /// <summary>The SQL as this database runs it (the shared text with what it does not understand taken out).</summary>
    protected internal virtual string Translate(string sql) => sql;

    /// <summary>Whether <paramref name="exception"/> is the uniqueness failure the stores answer with "taken"; with
    /// <paramref name="index"/>, only a failure of that unique index.</summary>
    protected internal abstract bool IsUniqueViolation(DbException exception, string? index = null);

    /// <summary>Whether a text column can hold <paramref name="value"/>; a value it cannot hold matches nothing stored.</summary>
    protected internal virtual bool CanStore(string? value) => true;

    /// <summary><paramref name="column"/> compared in byte order (for ORDER BY and key ranges).</summary>
    protected internal abstract string ByteOrder(string column);

    /// <summary><paramref name="column"/> as a plain value that no index serves (so the planner picks a better one).</summary>
    protected internal virtual string WithoutIndex(string column) => column;

    /// <summary>A case-insensitive comparison of <paramref name="column"/> with <paramref name="parameter"/>.</summary>
    protected internal abstract string EqualsIgnoringCase(string column, string parameter);

    /// <summary>The clause after a subquery that picks a row to claim, so concurrent claimers take different rows.</summary>
    protected internal virtual string SkipLocked => "";

    /// <summary>The clause after an <c>INSERT ... SELECT</c> that keeps the selected rows from changing until commit.</summary>
    protected internal virtual string ForUpdate => "";

    /// <summary>A statement that makes other writers of <paramref name="table"/> wait for this transaction; null where
    /// the write transaction already excludes them.</summary>
    protected internal virtual string? LockForWrite(string table) => null;

    /// <summary><c>INSERT INTO <paramref name="intoValues"/></c> that does nothing where a row with the same key exists.</summary>
    protected internal abstract string InsertIgnoringDuplicate(string intoValues);

    /// <summary>The value of a new row's <paramref name="column"/> of <paramref name="table"/>, one above the highest;
    /// null where the column numbers itself (an identity column).</summary>
    protected internal virtual string? NextValue(string table, string column) => null;

    /// <summary>How many values one <see cref="InList"/> may bind.</summary>
    protected internal virtual int MaxInList => int.MaxValue;

    /// <summary>"<paramref name="column"/> is one of <paramref name="values"/>", binding them as <paramref name="name"/>….</summary>
    protected internal abstract string InList(string column, string name, IReadOnlyList<string> values, ICollection<(string Name, object? Value)> parameters);

    /// <summary>"<paramref name="column"/> starts with <paramref name="prefix"/>" (not empty) for a key column, as a range its
    /// index serves.</summary>
    protected internal abstract string KeyPrefix(string column, string name, string prefix, ICollection<(string Name, object? Value)> parameters);

    /// <summary>"<paramref name="column"/> starts with <paramref name="prefix"/>" for a text column.</summary>
    protected internal abstract string StartsWith(string column, string name, string prefix, ICollection<(string Name, object? Value)> parameters);
}

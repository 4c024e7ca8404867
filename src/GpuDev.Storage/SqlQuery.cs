namespace GpuDev.Storage;

/// <summary>One statement and its parameters, for <see cref="SqlSession.ReadResultsAsync"/>.</summary>
internal readonly record struct SqlQuery(string Sql, (string Name, object? Value)[] Parameters);

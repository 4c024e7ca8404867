using System.Text.Json.Serialization;

namespace GpuDev.Storage.Sqlite;

[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class SqliteJsonContext : JsonSerializerContext;

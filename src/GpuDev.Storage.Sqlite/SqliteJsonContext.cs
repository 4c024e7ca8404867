using System.Text.Json.Serialization;
using GpuDev.Core.Reservations;

namespace GpuDev.Storage.Sqlite;

[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(EnvironmentOptions))]
internal sealed partial class SqliteJsonContext : JsonSerializerContext;

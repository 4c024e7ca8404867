using System.Text.Json.Serialization;
using GpuDev.Core.Reservations;

namespace GpuDev.Storage.Postgres;

[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(EnvironmentOptions))]
internal sealed partial class PostgresJsonContext : JsonSerializerContext;

using System.Text.Json.Serialization;
using GpuDev.Core.Reservations;

namespace GpuDev.Storage;

/// <summary>Node labels and a reservation's environment options, stored as JSON text (a <c>jsonb</c> column on PostgreSQL).</summary>
[JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
[JsonSerializable(typeof(EnvironmentOptions))]
internal sealed partial class StorageJsonContext : JsonSerializerContext;

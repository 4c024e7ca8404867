using System.Text.Json.Serialization;

namespace GpuDev.Compute.LocalHost;

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(EnvironmentRecord))]
internal sealed partial class LocalHostJsonContext : JsonSerializerContext;

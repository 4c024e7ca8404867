using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using GpuDev.Contracts;

namespace GpuDev.Cli.Output;

/// <summary>Writes Contracts DTOs as indented camelCase JSON (source-generated, NativeAOT-safe).</summary>
internal static class JsonOutput
{
    private static readonly JsonSerializerOptions Indented = new(GpuDevJsonContext.Default.Options) { WriteIndented = true };

    public static void Write<T>(TextWriter writer, T value)
    {
        var typeInfo = (JsonTypeInfo<T>)Indented.GetTypeInfo(typeof(T));
        writer.WriteLine(JsonSerializer.Serialize(value, typeInfo));
    }
}

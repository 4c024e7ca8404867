using System.Text.Json;

namespace GpuDev.Compute.LocalHost;

/// <summary>Reads and writes an environment's <see cref="EnvironmentRecord"/> (<see cref="EnvironmentLayout.RecordFile"/>).</summary>
internal static class EnvironmentRecordFile
{
    /// <summary>The record; null when there is none or it cannot be read (creation was interrupted before it was written).</summary>
    public static EnvironmentRecord? Read(EnvironmentLayout layout)
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllText(layout.RecordFile), LocalHostJsonContext.Default.EnvironmentRecord);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return null;
        }
    }

    public static void Write(EnvironmentLayout layout, EnvironmentRecord record) =>
        FileWrites.WriteIfChanged(layout.RecordFile, JsonSerializer.Serialize(record, LocalHostJsonContext.Default.EnvironmentRecord), "600");
}

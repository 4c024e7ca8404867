using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace GpuDev.Testing.Kubernetes;

/// <summary>Small helpers over <see cref="JsonNode"/> trees.</summary>
internal static class Json
{
    public static JsonObject Obj(this JsonObject parent, string name)
    {
        if (parent[name] is JsonObject existing)
        {
            return existing;
        }

        var created = new JsonObject();
        parent[name] = created;
        return created;
    }

    public static JsonArray Arr(this JsonObject parent, string name)
    {
        if (parent[name] is JsonArray existing)
        {
            return existing;
        }

        var created = new JsonArray();
        parent[name] = created;
        return created;
    }

    public static JsonNode? At(this JsonNode? node, params string[] path)
    {
        foreach (var part in path)
        {
            node = node is JsonObject o ? o[part] : null;
        }

        return node;
    }

    public static string? Str(this JsonNode? node, params string[] path)
    {
        var value = node.At(path);
        if (value is JsonValue v)
        {
            return v.GetValueKind() switch
            {
                JsonValueKind.String => v.GetValue<string>(),
                JsonValueKind.Number => v.ToJsonString(),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => null,
            };
        }

        return null;
    }

    public static bool Bool(this JsonNode? node, params string[] path) => node.Str(path) == "true";

    public static long? Long(this JsonNode? node, params string[] path) =>
        long.TryParse(node.Str(path), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;

    public static IEnumerable<JsonObject> Objects(this JsonNode? node, params string[] path) =>
        node.At(path) is JsonArray a ? a.OfType<JsonObject>() : [];

    public static IReadOnlyDictionary<string, string> StringMap(this JsonNode? node, params string[] path)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node.At(path) is JsonObject o)
        {
            foreach (var (key, value) in o)
            {
                map[key] = value.Str() ?? "";
            }
        }

        return map;
    }

    public static JsonObject Clone(this JsonObject o) => (JsonObject)o.DeepClone();

    public static string Timestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string MicroTimestamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}

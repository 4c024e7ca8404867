using System.Globalization;
using System.Text.Json.Nodes;

namespace GpuDev.Testing.Kubernetes;

/// <summary>JSON merge patch (RFC 7386) and JSON patch (RFC 6902).</summary>
internal static class Patching
{
    public static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }

        var result = target is JsonObject t ? t.Clone() : new JsonObject();
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = MergePatch(result[key], value);
            }
        }

        return result;
    }

    public static JsonNode? JsonPatch(JsonNode? document, JsonArray operations)
    {
        var doc = document?.DeepClone();
        foreach (var op in operations)
        {
            var kind = op.Str("op") ?? throw Bad("missing op");
            var path = op.Str("path") ?? throw Bad("missing path");
            switch (kind)
            {
                case "add":
                    doc = Add(doc, Pointer(path), op!["value"]?.DeepClone());
                    break;
                case "remove":
                    Remove(doc, Pointer(path));
                    break;
                case "replace":
                    Remove(doc, Pointer(path));
                    doc = Add(doc, Pointer(path), op!["value"]?.DeepClone());
                    break;
                case "move":
                {
                    var from = Pointer(op.Str("from") ?? throw Bad("missing from"));
                    var value = Get(doc, from);
                    Remove(doc, from);
                    doc = Add(doc, Pointer(path), value);
                    break;
                }

                case "copy":
                    doc = Add(doc, Pointer(path), Get(doc, Pointer(op.Str("from") ?? throw Bad("missing from")))?.DeepClone());
                    break;
                case "test":
                    if (!JsonNode.DeepEquals(Get(doc, Pointer(path)), op!["value"]))
                    {
                        throw new KubeApiException(422, "Invalid", $"the server rejected our request due to an error in our request: test failed at {path}");
                    }

                    break;
                default:
                    throw Bad($"Unexpected kind: {kind}");
            }
        }

        return doc;
    }

    private static KubeApiException Bad(string message) => new(422, "Invalid", $"the server rejected our request due to an error in our request: {message}");

    private static string[] Pointer(string path)
    {
        if (path.Length == 0)
        {
            return [];
        }

        if (path[0] != '/')
        {
            throw Bad($"invalid JSON pointer {path}");
        }

        return path[1..].Split('/').Select(p => p.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();
    }

    private static JsonNode? Get(JsonNode? doc, string[] path)
    {
        var node = doc;
        foreach (var part in path)
        {
            node = node switch
            {
                JsonObject o when o.TryGetPropertyValue(part, out var child) => child,
                JsonArray a when int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count => a[i],
                _ => throw Bad($"doc is missing path: /{string.Join('/', path)}"),
            };
        }

        return node;
    }

    private static JsonNode? Add(JsonNode? doc, string[] path, JsonNode? value)
    {
        if (path.Length == 0)
        {
            return value;
        }

        var parent = Get(doc, path[..^1]);
        var last = path[^1];
        switch (parent)
        {
            case JsonObject o:
                o[last] = value;
                break;
            case JsonArray a when last == "-":
                a.Add(value);
                break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i <= a.Count:
                a.Insert(i, value);
                break;
            default:
                throw Bad($"doc is missing path: /{string.Join('/', path)}");
        }

        return doc;
    }

    private static void Remove(JsonNode? doc, string[] path)
    {
        if (path.Length == 0)
        {
            throw Bad("cannot remove the root");
        }

        var parent = Get(doc, path[..^1]);
        var last = path[^1];
        switch (parent)
        {
            case JsonObject o when o.ContainsKey(last):
                o.Remove(last);
                break;
            case JsonArray a when int.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < a.Count:
                a.RemoveAt(i);
                break;
            default:
                throw Bad($"Unable to remove nonexistent key: {last}: missing value");
        }
    }
}

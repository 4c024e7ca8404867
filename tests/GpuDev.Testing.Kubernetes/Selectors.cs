using System.Text.Json.Nodes;

namespace GpuDev.Testing.Kubernetes;

/// <summary>A parsed <c>labelSelector</c> (equality-based and set-based requirements, comma = AND).</summary>
internal sealed class LabelSelector
{
    private enum Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist }

    private sealed record Requirement(string Key, Op Op, string[] Values);

    private readonly List<Requirement> _requirements = [];

    public static readonly LabelSelector Everything = new();

    public bool IsEmpty => _requirements.Count == 0;

    public static LabelSelector Parse(string? text)
    {
        var selector = new LabelSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        foreach (var raw in SplitTopLevel(text))
        {
            var part = raw.Trim();
            if (part.Length == 0)
            {
                throw Bad(text);
            }

            selector._requirements.Add(ParseRequirement(part, text));
        }

        return selector;
    }

    /// <summary>A selector from <c>matchLabels</c>/<c>matchExpressions</c> (a LabelSelector object).</summary>
    public static LabelSelector FromObject(JsonNode? selector)
    {
        var result = new LabelSelector();
        foreach (var (key, value) in selector.StringMap("matchLabels"))
        {
            result._requirements.Add(new(key, Op.Equals, [value]));
        }

        foreach (var expr in selector.Objects("matchExpressions"))
        {
            var values = expr.At("values") is JsonArray a ? a.Select(v => v.Str() ?? "").ToArray() : [];
            var op = expr.Str("operator") switch
            {
                "In" => Op.In,
                "NotIn" => Op.NotIn,
                "Exists" => Op.Exists,
                "DoesNotExist" => Op.DoesNotExist,
                var other => throw KubeApiException.BadRequest($"unsupported label selector operator {other}"),
            };
            result._requirements.Add(new(expr.Str("key") ?? "", op, values));
        }

        return result;
    }

    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        foreach (var r in _requirements)
        {
            var has = labels.TryGetValue(r.Key, out var value);
            var ok = r.Op switch
            {
                Op.Equals => has && value == r.Values[0],
                Op.NotEquals => !has || value != r.Values[0],
                Op.In => has && r.Values.Contains(value),
                Op.NotIn => !has || !r.Values.Contains(value),
                Op.Exists => has,
                Op.DoesNotExist => !has,
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    public bool Matches(JsonNode? obj) => IsEmpty || Matches(obj.StringMap("metadata", "labels"));

    private static Requirement ParseRequirement(string part, string text)
    {
        if (part.StartsWith('!'))
        {
            return new(CheckKey(part[1..].Trim(), text), Op.DoesNotExist, []);
        }

        var neq = part.IndexOf("!=", StringComparison.Ordinal);
        if (neq > 0)
        {
            return new(CheckKey(part[..neq].Trim(), text), Op.NotEquals, [part[(neq + 2)..].Trim()]);
        }

        var eq2 = part.IndexOf("==", StringComparison.Ordinal);
        if (eq2 > 0)
        {
            return new(CheckKey(part[..eq2].Trim(), text), Op.Equals, [part[(eq2 + 2)..].Trim()]);
        }

        var eq = part.IndexOf('=', StringComparison.Ordinal);
        if (eq > 0)
        {
            return new(CheckKey(part[..eq].Trim(), text), Op.Equals, [part[(eq + 1)..].Trim()]);
        }

        var paren = part.IndexOf('(', StringComparison.Ordinal);
        if (paren > 0)
        {
            if (!part.EndsWith(')'))
            {
                throw Bad(text);
            }

            var head = part[..paren].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (head.Length != 2)
            {
                throw Bad(text);
            }

            var values = part[(paren + 1)..^1].Split(',').Select(v => v.Trim()).ToArray();
            return head[1] switch
            {
                "in" => new(CheckKey(head[0], text), Op.In, values),
                "notin" => new(CheckKey(head[0], text), Op.NotIn, values),
                _ => throw Bad(text),
            };
        }

        return new(CheckKey(part, text), Op.Exists, []);
    }

    private static string CheckKey(string key, string text) =>
        key.Length == 0 || key.Contains(' ', StringComparison.Ordinal) ? throw Bad(text) : key;

    private static KubeApiException Bad(string text) =>
        KubeApiException.BadRequest($"unable to parse requirement: found '{text}', expected: identifier");

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    depth++;
                    break;
                case ')':
                    depth--;
                    break;
                case ',' when depth == 0:
                    yield return text[start..i];
                    start = i + 1;
                    break;
            }
        }

        yield return text[start..];
    }
}

/// <summary>A parsed <c>fieldSelector</c>: <c>a=b</c>, <c>a==b</c>, <c>a!=b</c>, comma = AND, on the fields the real server indexes.</summary>
internal sealed class FieldSelector
{
    private sealed record Requirement(string Field, bool Equal, string Value);

    private readonly List<Requirement> _requirements = [];

    public static readonly FieldSelector Everything = new();

    public static FieldSelector Parse(string? text, ResourceInfo resource)
    {
        var selector = new FieldSelector();
        if (string.IsNullOrWhiteSpace(text))
        {
            return selector;
        }

        foreach (var raw in text.Split(','))
        {
            var part = raw.Trim();
            string field, value;
            var equal = true;
            int at;
            if ((at = part.IndexOf("!=", StringComparison.Ordinal)) > 0)
            {
                (field, value, equal) = (part[..at], part[(at + 2)..], false);
            }
            else if ((at = part.IndexOf("==", StringComparison.Ordinal)) > 0)
            {
                (field, value) = (part[..at], part[(at + 2)..]);
            }
            else if ((at = part.IndexOf('=', StringComparison.Ordinal)) > 0)
            {
                (field, value) = (part[..at], part[(at + 1)..]);
            }
            else
            {
                throw KubeApiException.BadRequest($"invalid selector: '{text}'; can't understand '{part}'");
            }

            field = field.Trim();
            if (!Supported(resource, field))
            {
                throw KubeApiException.BadRequest($"field label not supported: {field}");
            }

            selector._requirements.Add(new(field, equal, value.Trim()));
        }

        return selector;
    }

    public bool Matches(JsonNode? obj)
    {
        foreach (var r in _requirements)
        {
            var actual = Value(obj, r.Field);
            if ((actual == r.Value) != r.Equal)
            {
                return false;
            }
        }

        return true;
    }

    private static readonly Dictionary<string, string[]> Extra = new(StringComparer.Ordinal)
    {
        ["pods"] = ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork",
            "status.phase", "status.podIP", "status.nominatedNodeName"],
        ["events"] = ["involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
            "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
            "reportingComponent", "source", "type"],
        ["nodes"] = ["spec.unschedulable"],
        ["secrets"] = ["type"],
        ["namespaces"] = ["status.phase"],
        ["jobs"] = ["status.successful"],
    };

    private static bool Supported(ResourceInfo r, string field) =>
        field is "metadata.name" or "metadata.namespace"
        || (Extra.TryGetValue(r.Plural, out var fields) && fields.Contains(field));

    private static string Value(JsonNode? obj, string field) => field switch
    {
        "source" => obj.Str("source", "component") ?? "",
        "spec.unschedulable" => obj.Bool("spec", "unschedulable") ? "true" : "false",
        "spec.hostNetwork" => obj.Bool("spec", "hostNetwork") ? "true" : "false",
        "status.successful" => (obj.Long("status", "succeeded") ?? 0).ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => obj.Str(field.Split('.')) ?? "",
    };
}

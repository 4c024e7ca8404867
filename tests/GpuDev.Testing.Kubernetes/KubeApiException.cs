using System.Text.Json.Nodes;

namespace GpuDev.Testing.Kubernetes;

/// <summary>An API error that the fake answers with a <c>v1 Status</c> body, as the real API server does.</summary>
internal sealed class KubeApiException(int code, string reason, string message, JsonObject? details = null) : Exception(message)
{
    public int Code { get; } = code;

    public string Reason { get; } = reason;

    public JsonObject? Details { get; } = details;

    public JsonObject ToStatus() => StatusBody("Failure", Code, Reason, Message, Details);

    internal static JsonObject StatusBody(string status, int code, string? reason, string? message, JsonObject? details)
    {
        var body = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = status,
        };
        if (message is not null)
        {
            body["message"] = message;
        }

        if (reason is not null)
        {
            body["reason"] = reason;
        }

        if (details is not null)
        {
            body["details"] = details.DeepClone();
        }

        body["code"] = code;
        return body;
    }

    public static KubeApiException NotFound(ResourceInfo r, string name) =>
        new(404, "NotFound", $"{r.QualifiedName} \"{name}\" not found", r.Details(name));

    public static KubeApiException AlreadyExists(ResourceInfo r, string name) =>
        new(409, "AlreadyExists", $"{r.QualifiedName} \"{name}\" already exists", r.Details(name));

    public static KubeApiException Conflict(ResourceInfo r, string name) =>
        new(409, "Conflict",
            $"Operation cannot be fulfilled on {r.QualifiedName} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            r.Details(name));

    public static KubeApiException Invalid(ResourceInfo r, string name, string field, string problem)
    {
        var details = r.Details(name);
        details["causes"] = new JsonArray(new JsonObject { ["reason"] = "FieldValueInvalid", ["message"] = problem, ["field"] = field });
        return new(422, "Invalid", $"{r.Kind} \"{name}\" is invalid: {field}: {problem}", details);
    }

    public static KubeApiException BadRequest(string message) => new(400, "BadRequest", message);

    public static KubeApiException ResourceNotFound() => new(404, "NotFound", "the server could not find the requested resource");

    public static KubeApiException MethodNotAllowed(string verb) =>
        new(405, "MethodNotAllowed", $"the server does not allow this method on the requested resource ({verb})");

    public static KubeApiException Gone(string message) => new(410, "Expired", message);
}

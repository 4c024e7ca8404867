namespace GpuDev.Core.Scheduling;

/// <summary>A waiting request, in arrival order. <paramref name="NodeLabels"/> (from <c>--node-label</c>) restricts it to
/// nodes carrying every one of those labels.</summary>
public sealed record PlanRequest(string ReservationId, string GpuType, int GpuCount, int NodeCount, TimeSpan Duration,
    IReadOnlyDictionary<string, string>? NodeLabels = null)
{
    internal bool Allows(NodeProfile node) =>
        NodeLabels is not { Count: > 0 } || NodeLabels.All(l => node.Labels is not null && node.Labels.TryGetValue(l.Key, out var v) && v == l.Value);

    internal string LabelText => NodeLabels is { Count: > 0 } ? " with " + string.Join(",", NodeLabels.Select(l => $"{l.Key}={l.Value}")) : "";
}

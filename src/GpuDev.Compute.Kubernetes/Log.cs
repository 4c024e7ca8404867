using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.Kubernetes;

/// <summary>Log messages of the Kubernetes provider (EventIds 3000 and up).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Kubernetes: {Usable} usable GPU nodes of {Total}")]
    public static partial void Discovered(ILogger logger, int usable, int total);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Kubernetes: removed every object of reservation {ReservationId}")]
    public static partial void Removed(ILogger logger, string reservationId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Kubernetes: the {What} watch broke ({Message}); listing again")]
    public static partial void WatchBroke(ILogger logger, string what, string message);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Kubernetes: placeholder pod {Pod} asks node group {Group} for a node")]
    public static partial void PlaceholderCreated(ILogger logger, string pod, string group);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Kubernetes: placeholder pod {Pod} deleted: {Why}")]
    public static partial void PlaceholderDeleted(ILogger logger, string pod, string why);
}

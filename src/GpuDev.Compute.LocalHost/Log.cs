using Microsoft.Extensions.Logging;

namespace GpuDev.Compute.LocalHost;

/// <summary>Log messages of the local-host provider (EventIds 2000-2099).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Warning,
        Message = "GPUs are simulated: no nvidia-smi found, so this host offers {Spec}. Declare the real or wanted GPUs with --local-gpus (LocalHost:Gpus), e.g. --local-gpus h100:8,t4:4")]
    public static partial void GpusSimulatedByDefault(ILogger logger, string spec);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Local GPUs declared in configuration (simulated): {Spec}")]
    public static partial void GpusDeclared(ILogger logger, string spec);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Discovered {Count} {GpuType} GPU(s) with nvidia-smi")]
    public static partial void GpusDiscovered(ILogger logger, int count, string gpuType);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "nvidia-smi failed ({Reason}); falling back to one simulated {Spec} node")]
    public static partial void NvidiaSmiFailed(ILogger logger, string reason, string spec);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Environments are podman containers (runtime {Runtime}, {Mode}); image {Image}")]
    public static partial void PodmanReady(ILogger logger, string runtime, string mode, string image);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Creating environment {ReservationId} for {Owner} on port(s) {Ports} from {Image}")]
    public static partial void Creating(ILogger logger, string reservationId, string owner, string ports, string image);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "Environment {ReservationId} is ready on port(s) {Ports} after {ElapsedMs} ms")]
    public static partial void Ready(ILogger logger, string reservationId, string ports, long elapsedMs);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Environment {ReservationId} failed: {Reason}")]
    public static partial void Failed(ILogger logger, string reservationId, string reason);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Warning, Message = "The port {Port} of {ReservationId} was taken meanwhile; trying another port")]
    public static partial void PortTaken(ILogger logger, string reservationId, int port);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Information, Message = "Removed environment {ReservationId} ({Containers} container(s))")]
    public static partial void Removed(ILogger logger, string reservationId, int containers);

    [LoggerMessage(EventId = 2021, Level = LogLevel.Warning, Message = "Removing environment {ReservationId}: {Problem}")]
    public static partial void RemoveProblem(ILogger logger, string reservationId, string problem);

    [LoggerMessage(EventId = 2030, Level = LogLevel.Information, Message = "Expiry warning {FileName} delivered to {ReservationId} ({Nodes} node(s) at once)")]
    public static partial void WarningDelivered(ILogger logger, string reservationId, string fileName, int nodes);

    [LoggerMessage(EventId = 2031, Level = LogLevel.Warning, Message = "Expiry warning for {ReservationId}: {Problem}")]
    public static partial void WarningProblem(ILogger logger, string reservationId, string problem);

    [LoggerMessage(EventId = 2032, Level = LogLevel.Information, Message = "Expiry warnings cleared for {ReservationId}")]
    public static partial void WarningsCleared(ILogger logger, string reservationId);

    [LoggerMessage(EventId = 2040, Level = LogLevel.Information, Message = "Jupyter {Kind} of {ReservationId} answers on port {Port} after {ElapsedMs} ms")]
    public static partial void JupyterStarted(ILogger logger, string reservationId, string kind, int port, long elapsedMs);

    [LoggerMessage(EventId = 2041, Level = LogLevel.Information, Message = "Jupyter of {ReservationId} stopped")]
    public static partial void JupyterStopped(ILogger logger, string reservationId);

    [LoggerMessage(EventId = 2042, Level = LogLevel.Warning, Message = "Jupyter of {ReservationId} failed to start: {Reason}")]
    public static partial void JupyterFailed(ILogger logger, string reservationId, string reason);

    [LoggerMessage(EventId = 2050, Level = LogLevel.Information, Message = "Image {Image} of {ReservationId} is ready ({How})")]
    public static partial void ImageReady(ILogger logger, string reservationId, string image, string how);

    [LoggerMessage(EventId = 2051, Level = LogLevel.Warning, Message = "Image of {ReservationId} failed: {Reason}")]
    public static partial void ImageFailed(ILogger logger, string reservationId, string reason);
}

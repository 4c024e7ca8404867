using GpuDev.Contracts;
using GpuDev.Core.Storage;
using GpuDev.Server.Api;

namespace GpuDev.Server.Health;

/// <summary><c>/healthz</c> is liveness (the process answers). <c>/readyz</c> is readiness: the store answers a
/// trivial query within 2 s and every worker's heartbeat is fresh; otherwise 503 ProblemDetails naming what is
/// not ready. Both are unauthenticated.</summary>
public static partial class ReadinessApi
{
    private static readonly TimeSpan s_storeTimeout = TimeSpan.FromSeconds(2);

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet(Routes.Health, () => TypedResults.Ok(new Dictionary<string, string> { ["status"] = "ok" })).WithTags("Health");
        app.MapGet(Routes.Ready, ReadyAsync).WithName("Ready").WithTags("Health");
        return app;
    }

    internal static async Task<IResult> ReadyAsync(IReservationStore store, WorkerHeartbeats heartbeats, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var checks = new Dictionary<string, string>(StringComparer.Ordinal);
        var failed = new List<string>();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(s_storeTimeout);
            await store.GetNodesAsync(timeout.Token);
            checks["store"] = "ok";
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // The answer is unauthenticated: the kind of failure only; its message (hosts, users, paths) goes to the log.
            checks["store"] = e is OperationCanceledException ? $"no answer within {s_storeTimeout.TotalSeconds:0} s" : $"failed ({e.GetType().Name}); see the server log";
            LogStoreFailed(loggers.CreateLogger("GpuDev.Server.Health.Readiness"), e);
            failed.Add("store");
        }

        foreach (var (worker, live, text) in heartbeats.Check())
        {
            checks[worker] = text;
            if (!live)
            {
                failed.Add(worker);
            }
        }

        if (failed.Count == 0)
        {
            return TypedResults.Ok(new ReadinessDto("ready", checks));
        }

        var problem = Problems.Create(StatusCodes.Status503ServiceUnavailable, ProblemCodes.NotReady, "Not ready.",
            $"Not ready: {string.Join("; ", failed.Select(f => $"{f} ({checks[f]})"))}.");
        problem.ProblemDetails.Extensions["checks"] = checks;
        return problem;
    }

    [LoggerMessage(EventId = 2400, Level = LogLevel.Warning, Message = "Readiness: the store did not answer")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception);
}

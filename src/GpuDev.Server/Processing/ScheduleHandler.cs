using GpuDev.Core.Jobs;

namespace GpuDev.Server.Processing;

/// <summary>A new request's first job (stored with it, <see cref="JobKind.Schedule"/>): one scheduling pass, on whichever
/// replica claims the job — usually the one that took the request, whose job worker the API wakes at once. Without it
/// a request taken by one replica would wait for the scheduler's poll on the replica holding the scheduler lease.</summary>
internal sealed class ScheduleHandler(SchedulingPass pass)
{
    public async Task<JobOutcome> HandleAsync(Job job, CancellationToken cancellationToken)
    {
        await pass.RunAsync(cancellationToken);
        return JobOutcome.Done;
    }
}

using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Execution;
using Hangfire;
using Hangfire.Common;
using Hangfire.States;

namespace Dashboard.Jobs;

/// <summary>
/// PostgreSQL mode: a queued run becomes a job on its queue in the job engine, which any worker serving that queue takes.
/// The verified start is not handed over: the worker may be another process, and reads and verifies the files itself.
/// </summary>
public sealed class HangfireRunDispatcher(IBackgroundJobClient jobs) : IRunDispatcher
{
    public bool Distributed => true;

    public void Dispatch(int runId, string queue, VerifiedCheckpoint? start = null) =>
        jobs.Create(Job.FromExpression<RunJob>(job => job.ExecuteAsync(runId, CancellationToken.None)), new EnqueuedState(queue));
}

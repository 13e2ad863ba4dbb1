using Dashboard.Runs.Checkpoints;

namespace Dashboard.Runs.Execution;

/// <summary>
/// Hands queued runs to whatever trains them: the in-process channel (embedded SQLite mode) or a job engine shared by
/// several processes (PostgreSQL mode). The launcher queues through this alone, so both modes queue, stop and resume alike.
/// </summary>
public interface IRunDispatcher
{
    /// <summary>
    /// True when queued runs are kept by a job engine outside this process, which also hands the run of a process
    /// presumed dead to another one. Start-up then neither re-queues queued runs nor marks running ones interrupted: they
    /// may be training on another worker right now, and the engine already holds every job.
    /// </summary>
    bool Distributed { get; }

    /// <summary>
    /// Queues a stored, queued run on <paramref name="queue"/>. <paramref name="start"/> is its start checkpoint as just
    /// read and verified, used only where the run trains in this process; elsewhere the executor reads it again.
    /// </summary>
    void Dispatch(int runId, string queue, VerifiedCheckpoint? start = null);
}

/// <summary>Embedded mode: the run goes to this process's <see cref="RunQueue"/>; there is only one queue here.</summary>
public sealed class ChannelRunDispatcher(RunQueue runQueue) : IRunDispatcher
{
    public bool Distributed => false;

    public void Dispatch(int runId, string queue, VerifiedCheckpoint? start = null) => runQueue.Enqueue(runId, start);
}

using System.ComponentModel;
using Dashboard.Runs.Execution;
using Dashboard.Runs.Launching;
using Dashboard.Runs.Options;
using Hangfire;
using Microsoft.Extensions.Options;

namespace Dashboard.Jobs;

/// <summary>
/// The job engine's unit of work: one run, trained by the same <see cref="RunExecutor"/> as in embedded mode. The engine
/// hands a dead worker's job to another after <c>Training:FailoverSeconds</c>; the executor then takes the run over from
/// its newest durable checkpoint, the auto-resume path.
/// </summary>
public sealed class RunJob(
    RunExecutor executor,
    RunLease lease,
    RunLauncher launcher,
    IOptions<TrainingOptions> options,
    ILogger<RunJob> logger)
{
    /// <summary>
    /// Trains the run; <paramref name="cancellationToken"/> is the engine's, cancelled when this worker shuts down.
    /// </summary>
    /// <remarks>
    /// Retries: the executor records a run's own failures itself (the job then succeeds), so what escapes is the
    /// infrastructure, the database unreachable while the run was read, taken or its ending stored. A retry a little later
    /// reads the row again and does only what it says: a queued run is taken, a running one whose lease went stale is
    /// taken over from its newest durable checkpoint, an ended one is left alone. Retrying never runs a run twice, and
    /// giving up at once would leave a running run nobody continues.
    /// </remarks>
    [AutomaticRetry(Attempts = 6, DelaysInSeconds = [5, 15, 30, 60, 120, 300], OnAttemptsExceeded = AttemptsExceededAction.Fail)]
    [DisplayName("Train run {0}")]
    public async Task ExecuteAsync(int runId, CancellationToken cancellationToken)
    {
        // The engine may hand a dead worker's job over a little before the run's lease is stale (their clocks differ by
        // up to a heartbeat): wait for that rather than drop the job, which would leave the run to nobody. A lease still
        // renewed after twice the failover time has a live holder, whose own job covers the run should it die: this is
        // a second job for the same run (a hand-back racing a re-delivery), and it ends instead of holding a slot.
        var giveUp = DateTime.UtcNow + (2 * TimeSpan.FromSeconds(options.Value.FailoverSeconds));
        while (await lease.IsHeldAsync(runId, cancellationToken))
        {
            if (DateTime.UtcNow > giveUp)
            {
                logger.LogInformation("Run {RunId} trains in another live process; this job for it ends.", runId);
                return;
            }

            await Task.Delay(options.Value.LeaseHeartbeat, cancellationToken);
        }

        await executor.ExecuteAsync(runId, cancellationToken);

        // Shutting down (SIGTERM): the run wrote its interrupt checkpoint; another worker continues it now rather than
        // after the failover time.
        if (cancellationToken.IsCancellationRequested && await launcher.HandBackAsync(runId, CancellationToken.None))
        {
            logger.LogInformation("Run {RunId} handed back to its queue as this worker shuts down.", runId);
        }
    }
}

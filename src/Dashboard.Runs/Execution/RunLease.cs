using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Runs.Options;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Execution;

/// <summary>
/// Which process trains a run: a fencing token on the run's row, taken with one conditional update and renewed by a
/// heartbeat while the run trains. A run whose heartbeat is older than <c>Training:FailoverSeconds</c> may be taken over;
/// the token then moves on and every write of the old holder fails (<see cref="RunFence"/>). The heartbeat also carries
/// what any web instance asked of the run through the database: stop, and "checkpoint now".
/// </summary>
public sealed class RunLease(
    IDbContextFactory<DashboardDbContext> dbFactory,
    IOptions<TrainingOptions> options,
    IOptions<WorkerOptions> worker,
    ILogger<RunLease> logger)
{
    private TimeSpan Failover => TimeSpan.FromSeconds(options.Value.FailoverSeconds);

    /// <summary>True when a process may take <paramref name="run"/> now: it waits in the queue, or its holder stopped beating.</summary>
    public bool IsFree(Run run) =>
        run.Status == RunStatus.Queued || (run.Status == RunStatus.Running && IsStale(run.LeaseRenewedAt, DateTime.UtcNow));

    /// <summary>True when a running run's holder has not renewed its lease within the failover time.</summary>
    public bool IsStale(DateTime? renewedAt, DateTime now) => renewedAt is not { } at || at < now - Failover;

    /// <summary>True while the run trains under a lease that is still fresh: some live process holds it.</summary>
    public async Task<bool> IsHeldAsync(int runId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var run = await db.Runs.AsNoTracking().Where(r => r.Id == runId).Select(r => new { r.Status, r.LeaseRenewedAt }).SingleOrDefaultAsync(cancellationToken);
        return run is not null && run.Status == RunStatus.Running && !IsStale(run.LeaseRenewedAt, DateTime.UtcNow);
    }

    /// <summary>
    /// Queued → running, or a running run whose lease went stale taken over, in one conditional update that increments the
    /// token; null when the run is neither (stopped meanwhile, or another process took it first). A stop asked for while the
    /// dead holder trained stays asked for; the previous holder's checkpoint rows still writing are settled as missing,
    /// since their files, if any, will never get their row (the folder is an orphan).
    /// </summary>
    public async Task<long?> TakeAsync(int runId, string device, int? resumeFromId)
    {
        await using var db = await dbFactory.CreateDbContextAsync();
        var now = DateTime.UtcNow;
        var stale = now - Failover;
        var taken = await db.Runs
            .Where(r => r.Id == runId
                && (r.Status == RunStatus.Queued
                    || (r.Status == RunStatus.Running && (r.LeaseRenewedAt == null || r.LeaseRenewedAt < stale))))
            .ExecuteUpdateAsync(u => u
                .SetProperty(r => r.StopRequested, r => r.Status == RunStatus.Running && r.StopRequested)
                .SetProperty(r => r.Status, RunStatus.Running)
                .SetProperty(r => r.LeaseToken, r => r.LeaseToken + 1)
                .SetProperty(r => r.LeaseRenewedAt, now)
                .SetProperty(r => r.CheckpointRequested, false)
                .SetProperty(r => r.Device, device)
                .SetProperty(r => r.Worker, worker.Value.EffectiveName)
                .SetProperty(r => r.ResumedFromCheckpointId, resumeFromId)
                .SetProperty(r => r.Error, (string?)null)
                .SetProperty(r => r.FinishedAt, (DateTime?)null)
                .SetProperty(r => r.StartedAt, r => r.StartedAt ?? now));
        if (taken != 1)
        {
            return null;
        }

        // Read after the update: no one else can have moved it on since, as this process's lease is fresh.
        var token = await db.Runs.Where(r => r.Id == runId).Select(r => r.LeaseToken).SingleAsync();
        await db.Checkpoints.Where(c => c.RunId == runId && c.Status == CheckpointStatus.Writing)
            .ExecuteUpdateAsync(u => u.SetProperty(c => c.Status, CheckpointStatus.Missing));
        return token;
    }

    /// <summary>
    /// Renews the lease every <see cref="TrainingOptions.LeaseHeartbeat"/> until <paramref name="stop"/>, passing on a stop
    /// or "checkpoint now" asked for in the database to <paramref name="active"/>. Cancels <paramref name="lost"/> when the
    /// token moved on: another process trains the run now, and this one must stop at once.
    /// </summary>
    public async Task KeepAsync(int runId, long token, ActiveRun active, CancellationTokenSource lost, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(options.Value.LeaseHeartbeat);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                try
                {
                    if (!await BeatAsync(runId, token, active, stop))
                    {
                        logger.LogWarning("Run {RunId} was taken over by another process; this one stops training it.", runId);
                        await lost.CancelAsync();
                        return;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The database away for a moment: the next beat tries again. Only if it stays away past the failover
                    // time may another worker take over, and then this one's writes fail on the token.
                    logger.LogWarning("The lease heartbeat of run {RunId} failed: {Message}", runId, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // The run ended.
        }
    }

    private async Task<bool> BeatAsync(int runId, long token, ActiveRun active, CancellationToken stop)
    {
        await using var db = await dbFactory.CreateDbContextAsync(stop);
        var now = DateTime.UtcNow;
        if (await db.Runs.Where(r => r.Id == runId && r.LeaseToken == token)
                .ExecuteUpdateAsync(u => u.SetProperty(r => r.LeaseRenewedAt, now), stop) != 1)
        {
            return false;
        }

        var asked = await db.Runs.Where(r => r.Id == runId).Select(r => new { r.StopRequested, r.CheckpointRequested }).SingleAsync(stop);
        if (asked.StopRequested)
        {
            active.Stop();
        }

        // Cleared by whoever takes it, so two beats never turn one request into two checkpoints.
        if (asked.CheckpointRequested
            && await db.Runs.Where(r => r.Id == runId && r.CheckpointRequested)
                .ExecuteUpdateAsync(u => u.SetProperty(r => r.CheckpointRequested, false), stop) == 1)
        {
            active.RequestCheckpoint();
        }

        return true;
    }

    /// <summary>Asks the run, wherever it trains, to stop after its current batch; false when it is not running.</summary>
    public async Task<bool> RequestStopAsync(int runId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        return await db.Runs.Where(r => r.Id == runId && r.Status == RunStatus.Running)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.StopRequested, true), cancellationToken) == 1;
    }

    /// <summary>
    /// Asks the run, wherever it trains, for a checkpoint after its current batch; false when no live process holds it
    /// (not running, or its holder stopped renewing the lease: nothing would write the checkpoint).
    /// </summary>
    public async Task<bool> RequestCheckpointAsync(int runId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var fresh = DateTime.UtcNow - Failover;
        return await db.Runs.Where(r => r.Id == runId && r.Status == RunStatus.Running && r.LeaseRenewedAt != null && r.LeaseRenewedAt >= fresh)
            .ExecuteUpdateAsync(u => u.SetProperty(r => r.CheckpointRequested, true), cancellationToken) == 1;
    }
}

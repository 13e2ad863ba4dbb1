using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Training;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Logging;
using Dashboard.Runs.Resilience;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Execution;

/// <summary>
/// Turns one run's engine events into rows and broadcasts, persistence first, so anything a client hears about can be
/// fetched again over the API. Checkpoint files are written in the background while training goes on; one write per run
/// at a time, with at most one more snapshot queued behind it when both are small (<see cref="CheckpointWriteQueue"/>),
/// so a slow disk makes training wait instead of piling snapshots up in memory.
/// Per-step losses are buffered on the training thread and written in batches, one background write at a time, started
/// by each progress report (a few times a second). Epoch rows and checkpoint rows are written in the background too, each
/// after the steps before it, so the training thread never waits for SQLite; a progress report goes out once the steps
/// it summarises are stored, and the run's end waits for every write (<see cref="DrainAsync"/>).
/// Every write waits out a database that is away for a while (<see cref="DatabaseRetry"/>) and may be repeated without
/// duplicating anything: steps are upserted, an epoch's row replaces any row of that epoch, a checkpoint's row replaces a
/// row of that checkpoint still writing. Meanwhile training goes on only as far as the buffers allow: the steps of the
/// epoch in progress, one epoch's write waiting behind the one in flight (<see cref="OnEpochCompletedAsync"/>), and the
/// snapshots <see cref="CheckpointWriteQueue"/> holds; then the training thread waits for the database.
/// </summary>
public sealed partial class PersistingObserver(
    RunContext run,
    IDbContextFactory<DashboardDbContext> dbFactory,
    CheckpointStore store,
    CheckpointMaintenance checkpoints,
    TrainingEventBroadcaster broadcaster,
    RunLog runLog,
    DatabaseRetry retry) : ITrainingObserver, IDisposable
{
    /// <summary>Room for a few seconds of fast steps; the buffer is handed to the writer whole and a fresh one started.</summary>
    private const int StepBufferCapacity = 1024;

    /// <summary>
    /// The run's id as a field for the queries' lambdas. EF reads a captured value out of the expression tree by reflection,
    /// and a property getter read that way (<c>run.RunId</c>) runs through a reflection invoke stub, a dynamic method the
    /// runtime emits and JIT-compiles; the stub lives in the type's reflection cache, which is held weakly, so a garbage
    /// collection drops it and the next epoch's query compiles it again, every few epochs for as long as the run trains
    /// (seen in the JIT's log of a 300-epoch run). A field is read without generating code.
    /// </summary>
    private readonly int _runId = run.RunId;

    private readonly CancellationTokenSource _writeFailed = new();
    private readonly PersistenceTimings _timings = new();
    private int _batchesPerEpoch;
    private readonly CheckpointWriteQueue _checkpointWrites = new();

    // Touched only on the training thread (the engine's calls, then DrainAsync after the engine returns).
    private List<StepRow> _steps = new(StepBufferCapacity);
    private List<StepRow>? _writtenSteps;
    private StepSummary _summary;
    private long _lastStep;
    private double? _learningRate;
    private Task _stepWrite = Task.CompletedTask;
    private Task _epochWrite = Task.CompletedTask;

    /// <summary>
    /// Fires when a checkpoint write fails. Training should stop at once: the failure surfaces from the next checkpoint
    /// call (or <see cref="DrainAsync"/>), and batches trained meanwhile could not be saved anyway.
    /// </summary>
    public CancellationToken WriteFailed => _writeFailed.Token;

    /// <summary>
    /// True once a write found the run taken over by another process (its lease token moved on): training stops and
    /// nothing more is written for it here, not even its ending.
    /// </summary>
    public bool Fenced { get; private set; }

    public async ValueTask OnStartedAsync(RunStartInfo info, CancellationToken cancellationToken)
    {
        _batchesPerEpoch = info.BatchesPerEpoch;

        // Epochs past the checkpoint being resumed were lost with the process that ran them; they are about to be
        // trained again, and the curve must show the replay, not both.
        await FencedAsync($"starting run {run.RunId}", async db =>
        {
            await db.EpochMetrics.Where(m => m.RunId == _runId && m.Epoch >= info.StartEpoch).ExecuteDeleteAsync(cancellationToken);
            var best = await db.EpochMetrics.Where(m => m.RunId == _runId).OrderBy(m => m.ValLoss).FirstOrDefaultAsync(cancellationToken);
            await db.Runs.Where(r => r.Id == _runId).ExecuteUpdateAsync(
                s => s.SetProperty(r => r.Device, info.Device)
                    .SetProperty(r => r.StartStep, info.StartStep)
                    .SetProperty(r => r.CurrentEpoch, info.StartEpoch - 1)
                    .SetProperty(r => r.BestValLoss, best == null ? null : best.ValLoss)
                    .SetProperty(r => r.BestValLossEpoch, best == null ? null : best.Epoch),
                cancellationToken);
        });
        await retry.RunAsync($"clearing the steps run {run.RunId} retrains", async () =>
        {
            await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
            await WatchFenceAsync(StepMetricStore.DeleteAfterAsync(db, run.RunId, info.StartStep, cancellationToken, run.LeaseToken));
        }, cancellationToken);

        _lastStep = info.StartStep;
    }

    /// <summary>What the run's persistence has cost so far, part by part.</summary>
    public PersistenceTimings Timings => _timings;

    public void OnStep(in StepMetrics step)
    {
        _steps.Add(new StepRow(step.Step, step.Epoch, step.Loss));
        _summary.Add(step.Step, step.Loss);
        _lastStep = step.Step;
    }

    public void OnProgress(BatchProgress progress)
    {
        // A write still in flight means the disk is behind: this report is skipped and the next one summarises its steps
        // too, rather than queueing writes behind each other.
        if (!_stepWrite.IsCompleted)
        {
            return;
        }

        var started = PersistenceTimings.Start();
        var batchesPerSecond = progress.Batch / Math.Max(progress.EpochElapsedMs / 1000, 1e-9);
        var remainingBatches = (progress.BatchCount - progress.Batch) + ((long)(run.Config.Epochs - progress.Epoch) * _batchesPerEpoch);
        var steps = _summary.Take();
        StartStepWrite(new ProgressDto(
            progress.Epoch, run.Config.Epochs, progress.Batch, progress.BatchCount, progress.SamplesPerSecond, remainingBatches / batchesPerSecond, _lastStep, steps));
        _timings.Add(PersistenceTimings.Part.HandOff, started);
    }

    public async ValueTask OnEpochCompletedAsync(EpochMetrics metrics, CancellationToken cancellationToken)
    {
        // The previous epoch's write still going means the database is slow or away: this epoch's steps wait behind it,
        // and the one after that waits here, so no more than two epochs of steps are ever held for writing. Otherwise
        // (the write ended an epoch ago) this costs nothing.
        if (!_epochWrite.IsCompleted)
        {
            var waiting = PersistenceTimings.Start();
            await _epochWrite;
            _timings.Add(PersistenceTimings.Part.EpochWait, waiting);
        }

        // Every step of the epoch is stored before the epoch is announced, so a client that re-reads /steps then has them:
        // the epoch's row is the next write after them, in the background, so the next epoch starts without waiting for
        // the database. A failure surfaces on the training thread at the next report, checkpoint or the drain, as for steps.
        var started = PersistenceTimings.Start();
        var stepsStored = HandOffSteps(progress: null);
        // Started on the pool: called on the training thread, it would otherwise bring its continuations back there.
        _stepWrite = _epochWrite = Task.Run(() => RecordEpochAsync(stepsStored, metrics), CancellationToken.None);
        _timings.EpochCompleted();
        _timings.Add(PersistenceTimings.Part.HandOff, started);
    }

    private async Task RecordEpochAsync(Task stepsStored, EpochMetrics metrics)
    {
        await stepsStored;
        var started = PersistenceTimings.Start();
        EpochMetric NewRow() => new()
        {
            RunId = run.RunId,
            Epoch = metrics.Epoch,
            Step = metrics.Step,
            Loss = metrics.Loss,
            ValLoss = metrics.ValLoss,
            Accuracy = metrics.Accuracy,
            ValAccuracy = metrics.ValAccuracy,
            Mae = metrics.Mae,
            ValMae = metrics.ValMae,
            LearningRate = metrics.LearningRate,
            DurationMs = metrics.DurationMs,
            SamplesPerSecond = metrics.SamplesPerSecond,
            CreatedAt = DateTime.UtcNow,
        };
        EpochMetric? row = null;
        var epoch = metrics.Epoch; // a local, read by the query as a field (see _runId)
        await FencedAsync($"recording epoch {epoch} of run {run.RunId}", async db =>
        {
            // The epoch's row replaces any row of that epoch: one stored by an attempt whose commit went through
            // unacknowledged (rows of epochs being retrained were deleted at the start), so there is one row per epoch.
            await db.EpochMetrics.Where(m => m.RunId == _runId && m.Epoch == epoch).ExecuteDeleteAsync();
            row = NewRow();
            db.EpochMetrics.Add(row);
            var entity = await db.Runs.SingleAsync(r => r.Id == _runId);
            entity.CurrentEpoch = metrics.Epoch;
            if (entity.BestValLoss is null || metrics.ValLoss < entity.BestValLoss)
            {
                entity.BestValLoss = metrics.ValLoss;
                entity.BestValLossEpoch = metrics.Epoch;
            }

            await db.SaveChangesAsync();
        });
        _timings.Add(PersistenceTimings.Part.EpochRows, started);
        broadcaster.Publish(new EpochCompletedEvent(run.RunId, MetricDto.From(row!)));

        // The schedule sets the rate after an epoch; the next epoch's metrics are the first to carry the new one.
        if (_learningRate is { } previous && previous != metrics.LearningRate)
        {
            runLog.Info(run.RunId, $"Learning rate changed from {previous:G4} to {metrics.LearningRate:G4} for epoch {metrics.Epoch}.");
        }

        _learningRate = metrics.LearningRate;
    }

    /// <summary>Stores the last steps and waits for the checkpoint write in flight; the run's final status is set only after this.</summary>
    public async Task DrainAsync()
    {
        try
        {
            await FlushStepsAsync();
        }
        finally
        {
            await _checkpointWrites.Last;
        }

        if (_timings.Summary() is { } summary)
        {
            runLog.Info(run.RunId, summary);
        }
    }

    /// <summary>Hands the buffered steps (and the report to send once they are stored) to a background write.</summary>
    private void StartStepWrite(ProgressDto? progress)
    {
        // Completed by now; a failed write surfaces here, on the training thread, and fails the run.
        _stepWrite.GetAwaiter().GetResult();
        HandOffSteps(progress);
    }

    /// <summary>
    /// Starts a write of the buffered steps after the one in flight, without waiting for either; returns the task that
    /// completes once every step handed over so far is stored.
    /// </summary>
    private Task HandOffSteps(ProgressDto? progress)
    {
        if (_steps.Count == 0 && progress is null)
        {
            return _stepWrite;
        }

        var steps = _steps;

        // Once every write has finished, the last one's buffer is free again: steady training allocates no buffers.
        _steps = _stepWrite.IsCompleted && _writtenSteps is { } free ? free : new List<StepRow>(StepBufferCapacity);
        _steps.Clear();
        _writtenSteps = steps;
        var previous = _stepWrite;
        // A failed write is chained too, so its failure reaches whoever waits next instead of being skipped.
        _stepWrite = previous.IsCompletedSuccessfully
            ? Task.Run(() => WriteStepsAsync(steps, progress), CancellationToken.None)
            : Task.Run(() => WriteStepsAfterAsync(previous, steps, progress), CancellationToken.None);
        return _stepWrite;
    }

    private async Task FlushStepsAsync() => await HandOffSteps(progress: null);

    private async Task WriteStepsAfterAsync(Task previous, List<StepRow> steps, ProgressDto? progress)
    {
        await previous;
        await WriteStepsAsync(steps, progress);
    }

    private async Task WriteStepsAsync(List<StepRow> steps, ProgressDto? progress)
    {
        if (steps.Count > 0)
        {
            var started = PersistenceTimings.Start();

            // Upserts: a repeat after a lost acknowledgement rewrites the same rows.
            await retry.RunAsync($"storing the steps of run {run.RunId}", async () =>
            {
                await using var db = await dbFactory.CreateDbContextAsync();
                await WatchFenceAsync(StepMetricStore.WriteAsync(db, run.RunId, steps, leaseToken: run.LeaseToken));
            });
            _timings.Add(PersistenceTimings.Part.StepWrites, started);
        }

        if (progress is not null)
        {
            broadcaster.Publish(new ProgressEvent(run.RunId, progress));
        }
    }

    public void Dispose() => _writeFailed.Dispose();
}

/// <summary>The run's file name template could not name a checkpoint; the message says what to change.</summary>
public sealed class CheckpointNameException(string message, Exception inner) : Exception(message, inner);

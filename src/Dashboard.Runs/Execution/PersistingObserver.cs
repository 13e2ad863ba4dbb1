using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Policies;
using Dashboard.Engine.Training;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Logging;
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
/// </summary>
public sealed partial class PersistingObserver(
    RunContext run,
    IDbContextFactory<DashboardDbContext> dbFactory,
    CheckpointStore store,
    CheckpointMaintenance checkpoints,
    TrainingEventBroadcaster broadcaster,
    RunLog runLog) : ITrainingObserver, IDisposable
{
    /// <summary>Room for a few seconds of fast steps; the buffer is handed to the writer whole and a fresh one started.</summary>
    private const int StepBufferCapacity = 1024;

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
        await FencedAsync(async db =>
        {
            await db.EpochMetrics.Where(m => m.RunId == run.RunId && m.Epoch >= info.StartEpoch).ExecuteDeleteAsync(cancellationToken);
            var best = await db.EpochMetrics.Where(m => m.RunId == run.RunId).OrderBy(m => m.ValLoss).FirstOrDefaultAsync(cancellationToken);
            await db.Runs.Where(r => r.Id == run.RunId).ExecuteUpdateAsync(
                s => s.SetProperty(r => r.Device, info.Device)
                    .SetProperty(r => r.StartStep, info.StartStep)
                    .SetProperty(r => r.CurrentEpoch, info.StartEpoch - 1)
                    .SetProperty(r => r.BestValLoss, best == null ? null : best.ValLoss)
                    .SetProperty(r => r.BestValLossEpoch, best == null ? null : best.Epoch),
                cancellationToken);
        });
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            await WatchFenceAsync(StepMetricStore.DeleteAfterAsync(db, run.RunId, info.StartStep, cancellationToken, run.LeaseToken));
        }

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

    public ValueTask OnEpochCompletedAsync(EpochMetrics metrics, CancellationToken cancellationToken)
    {
        // Every step of the epoch is stored before the epoch is announced, so a client that re-reads /steps then has them:
        // the epoch's row is the next write after them, in the background, so the next epoch starts without waiting for
        // SQLite. A failure surfaces on the training thread at the next report, checkpoint or the drain, as for steps.
        var started = PersistenceTimings.Start();
        var stepsStored = HandOffSteps(progress: null);
        _stepWrite = RecordEpochAsync(stepsStored, metrics);
        _timings.EpochCompleted();
        _timings.Add(PersistenceTimings.Part.HandOff, started);
        return ValueTask.CompletedTask;
    }

    private async Task RecordEpochAsync(Task stepsStored, EpochMetrics metrics)
    {
        await stepsStored;
        var started = PersistenceTimings.Start();
        var row = new EpochMetric
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
        await FencedAsync(async db =>
        {
            db.EpochMetrics.Add(row);
            var entity = await db.Runs.SingleAsync(r => r.Id == run.RunId);
            entity.CurrentEpoch = metrics.Epoch;
            if (entity.BestValLoss is null || metrics.ValLoss < entity.BestValLoss)
            {
                entity.BestValLoss = metrics.ValLoss;
                entity.BestValLossEpoch = metrics.Epoch;
            }

            await db.SaveChangesAsync();
        });
        _timings.Add(PersistenceTimings.Part.EpochRows, started);
        broadcaster.Publish(new EpochCompletedEvent(run.RunId, MetricDto.From(row)));

        // The schedule sets the rate after an epoch; the next epoch's metrics are the first to carry the new one.
        if (_learningRate is { } previous && previous != metrics.LearningRate)
        {
            runLog.Info(run.RunId, $"Learning rate changed from {previous:G4} to {metrics.LearningRate:G4} for epoch {metrics.Epoch}.");
        }

        _learningRate = metrics.LearningRate;
    }

    public async ValueTask OnCheckpointAsync(CheckpointSnapshot snapshot, CancellationToken cancellationToken)
    {
        // Back-pressure, bounded by what the snapshots waiting to be written hold in memory; a failed write fails the run
        // here rather than going unnoticed.
        var bytes = CheckpointWriteQueue.SizeOf(snapshot);
        var waiting = PersistenceTimings.Start();
        await _checkpointWrites.WaitForRoomAsync(bytes);
        _timings.Add(PersistenceTimings.Part.CheckpointWait, waiting);
        var started = PersistenceTimings.Start();

        // Steps up to a checkpoint are stored before its row, so resuming from it never leaves a gap in the per-step
        // curve. Both happen on the background write, in that order: the training thread hands them over and goes on
        // with the next batch instead of waiting for SQLite.
        var stepsStored = HandOffSteps(progress: null);
        _checkpointWrites.Enqueue(bytes, () => RecordAndWriteAsync(stepsStored, snapshot));
        _timings.Add(PersistenceTimings.Part.HandOff, started);
    }

    private async Task RecordAndWriteAsync(Task stepsStored, CheckpointSnapshot snapshot)
    {
        Checkpoint row;
        try
        {
            await stepsStored;
            row = await InsertCheckpointRowAsync(snapshot);
        }
        catch
        {
            // Nothing was written; training must stop as for a failed write, not go on into the same failure.
            await _writeFailed.CancelAsync();
            throw;
        }

        await WriteAsync(row, snapshot);
    }

    private async Task<Checkpoint> InsertCheckpointRowAsync(CheckpointSnapshot snapshot)
    {
        var position = snapshot.Position;
        var row = new Checkpoint
        {
            RunId = run.RunId,
            Epoch = position.CompletedEpochs,
            Step = position.GlobalStep,
            MetricsJson = JsonSerializer.Serialize(snapshot.Metrics, JsonDefaults.Options),
            Path = "",
            Kind = snapshot.Kind,
            Status = CheckpointStatus.Writing,
            CreatedAt = DateTime.UtcNow,
        };
        var started = PersistenceTimings.Start();
        await FencedAsync(async db =>
        {
            db.Checkpoints.Add(row);
            await db.SaveChangesAsync();
        });
        _timings.Add(PersistenceTimings.Part.CheckpointRows, started);
        return row;
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
            : WriteStepsAfterAsync(previous, steps, progress);
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
            await using var db = await dbFactory.CreateDbContextAsync();
            await WatchFenceAsync(StepMetricStore.WriteAsync(db, run.RunId, steps, leaseToken: run.LeaseToken));
            _timings.Add(PersistenceTimings.Part.StepWrites, started);
        }

        if (progress is not null)
        {
            broadcaster.Publish(new ProgressEvent(run.RunId, progress));
        }
    }

    public void Dispose() => _writeFailed.Dispose();

    private string CheckpointName(CheckpointSnapshot snapshot)
    {
        var position = snapshot.Position;
        string name;
        try
        {
            name = FileNameTemplate.Expand(run.Config.Checkpoint.FileNameTemplate, position.CompletedEpochs, position.GlobalStep, snapshot.Kind, snapshot.Metrics);
        }
        catch (FormatException e)
        {
            throw new CheckpointNameException(
                $"The checkpoint at epoch {position.CompletedEpochs} (step {position.GlobalStep}) could not be named: {e.Message} Start a new run with a valid checkpoint.fileNameTemplate.", e);
        }

        return name + (position.BatchInEpoch == 0 ? $"-{snapshot.Kind}" : $"-step{position.GlobalStep}-{snapshot.Kind}");
    }

    private async Task WriteAsync(Checkpoint row, CheckpointSnapshot snapshot)
    {
        await using var db = await dbFactory.CreateDbContextAsync();
        await using var transaction = await db.Database.BeginTransactionAsync();
        db.Checkpoints.Attach(row);

        // Naming is inside the try as much as writing: any failure must end the row and the run, never leave the row
        // writing while training goes on into the same failure at every checkpoint.
        try
        {
            var name = CheckpointName(snapshot);
            var writing = PersistenceTimings.Start();
            var written = store.Write(CheckpointStore.RunFolder(run.RunId), name, snapshot, new CheckpointLineage(run.RunId, run.ParentRunId, run.ParentCheckpointId, run.DataSha256));
            row.Path = written.RelativePath;
            row.SizeBytes = written.SizeBytes;
            row.Sha256 = written.Sha256;
            row.Status = CheckpointStatus.Durable;
            _timings.Add(PersistenceTimings.Part.CheckpointFiles, writing);
        }
        catch (Exception e)
        {
            // The store has removed the unfinished folder. On a full disk, or when no name could be made, nothing was
            // written at all, so nothing is corrupt; the row says the files are not there.
            row.Status = CheckpointStore.IsDiskFull(e) || e is CheckpointNameException ? CheckpointStatus.Missing : CheckpointStatus.Corrupt;
            runLog.Error(run.RunId, $"Writing the {row.Kind} checkpoint at epoch {row.Epoch} (step {row.Step}) failed: {e.Message}");
            await WatchFenceAsync(RunFence.CheckAsync(db, run.RunId, run.LeaseToken));
            await db.SaveChangesAsync();
            await transaction.CommitAsync();
            await _writeFailed.CancelAsync();
            throw;
        }

        // The files are in place under a new name; the row that makes them the run's is written only while this process
        // still holds the run. Taken over meanwhile, the folder is removed and the row stays writing until the new holder
        // settles it.
        var updating = PersistenceTimings.Start();
        await FenceWrittenCheckpointAsync(db, row.Path);
        await db.SaveChangesAsync();
        await transaction.CommitAsync();
        _timings.Add(PersistenceTimings.Part.CheckpointRows, updating);
        broadcaster.Publish(new CheckpointSavedEvent(run.RunId, CheckpointDto.From(row)));
        runLog.Info(run.RunId, $"Wrote {row.Kind} checkpoint #{row.Id} at epoch {row.Epoch}, step {row.Step} ({CheckpointStore.FormatBytes(row.SizeBytes)}).");
        var retaining = PersistenceTimings.Start();
        await checkpoints.ApplyRetentionAsync(run.RunId, run.Config.Checkpoint);
        _timings.Add(PersistenceTimings.Part.Retention, retaining);
    }
}

/// <summary>The run's file name template could not name a checkpoint; the message says what to change.</summary>
public sealed class CheckpointNameException(string message, Exception inner) : Exception(message, inner);

using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Policies;
using Dashboard.Engine.Training;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Web.Services;

/// <summary>
/// Turns one run's engine events into rows and broadcasts, persistence first, so anything a client hears about can be
/// fetched again over the API. Checkpoint files are written in the background while training goes on; at most one write
/// per run is in flight, so a slow disk makes training wait instead of piling snapshots up in memory.
/// </summary>
public sealed class PersistingObserver(
    RunContext run,
    IDbContextFactory<DashboardDbContext> dbFactory,
    CheckpointStore store,
    CheckpointService checkpoints,
    TrainingEventBroadcaster broadcaster) : ITrainingObserver, IDisposable
{
    private readonly CancellationTokenSource _writeFailed = new();
    private int _batchesPerEpoch;
    private Task _pendingWrite = Task.CompletedTask;

    /// <summary>
    /// Fires when a checkpoint write fails. Training should stop at once: the failure surfaces from the next checkpoint
    /// call (or <see cref="DrainAsync"/>), and batches trained meanwhile could not be saved anyway.
    /// </summary>
    public CancellationToken WriteFailed => _writeFailed.Token;

    public async ValueTask OnStartedAsync(RunStartInfo info, CancellationToken cancellationToken)
    {
        _batchesPerEpoch = info.BatchesPerEpoch;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);

        // Epochs past the checkpoint being resumed were lost with the process that ran them; they are about to be
        // trained again, and the curve must show the replay, not both.
        await db.EpochMetrics.Where(m => m.RunId == run.RunId && m.Epoch >= info.StartEpoch).ExecuteDeleteAsync(cancellationToken);
        var best = await db.EpochMetrics.Where(m => m.RunId == run.RunId).OrderBy(m => m.ValLoss).FirstOrDefaultAsync(cancellationToken);
        await db.Runs.Where(r => r.Id == run.RunId).ExecuteUpdateAsync(
            s => s.SetProperty(r => r.Device, info.Device)
                .SetProperty(r => r.CurrentEpoch, info.StartEpoch - 1)
                .SetProperty(r => r.BestValLoss, best == null ? null : best.ValLoss)
                .SetProperty(r => r.BestValLossEpoch, best == null ? null : best.Epoch),
            cancellationToken);
    }

    public void OnProgress(BatchProgress progress)
    {
        var batchesPerSecond = progress.Batch / Math.Max(progress.EpochElapsedMs / 1000, 1e-9);
        var remainingBatches = (progress.BatchCount - progress.Batch) + ((long)(run.Config.Epochs - progress.Epoch) * _batchesPerEpoch);
        broadcaster.Publish(new ProgressEvent(
            run.RunId,
            new ProgressDto(progress.Epoch, run.Config.Epochs, progress.Batch, progress.BatchCount, progress.SamplesPerSecond, remainingBatches / batchesPerSecond)));
    }

    public async ValueTask OnEpochCompletedAsync(EpochMetrics metrics, CancellationToken cancellationToken)
    {
        var row = new EpochMetric
        {
            RunId = run.RunId,
            Epoch = metrics.Epoch,
            Step = metrics.Step,
            Loss = metrics.Loss,
            ValLoss = metrics.ValLoss,
            Accuracy = metrics.Accuracy,
            ValAccuracy = metrics.ValAccuracy,
            LearningRate = metrics.LearningRate,
            DurationMs = metrics.DurationMs,
            SamplesPerSecond = metrics.SamplesPerSecond,
            CreatedAt = DateTime.UtcNow,
        };
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        db.EpochMetrics.Add(row);
        var entity = await db.Runs.SingleAsync(r => r.Id == run.RunId, cancellationToken);
        entity.CurrentEpoch = metrics.Epoch;
        if (entity.BestValLoss is null || metrics.ValLoss < entity.BestValLoss)
        {
            entity.BestValLoss = metrics.ValLoss;
            entity.BestValLossEpoch = metrics.Epoch;
        }

        await db.SaveChangesAsync(cancellationToken);
        broadcaster.Publish(new EpochCompletedEvent(run.RunId, MetricDto.From(row)));
    }

    public async ValueTask OnCheckpointAsync(CheckpointSnapshot snapshot, CancellationToken cancellationToken)
    {
        // Back-pressure, and a failed write fails the run here rather than going unnoticed.
        await _pendingWrite;

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
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken))
        {
            db.Checkpoints.Add(row);
            await db.SaveChangesAsync(cancellationToken);
        }

        _pendingWrite = Task.Run(() => WriteAsync(row, snapshot), CancellationToken.None);
    }

    /// <summary>Waits for the write in flight; the run's final status is set only after this.</summary>
    public Task DrainAsync() => _pendingWrite;

    public void Dispose() => _writeFailed.Dispose();

    private async Task WriteAsync(Checkpoint row, CheckpointSnapshot snapshot)
    {
        var position = snapshot.Position;
        var name = FileNameTemplate.Expand(run.Config.Checkpoint.FileNameTemplate, position.CompletedEpochs, position.GlobalStep, snapshot.Kind, snapshot.Metrics);
        name += position.BatchInEpoch == 0 ? $"-{snapshot.Kind}" : $"-step{position.GlobalStep}-{snapshot.Kind}";
        await using var db = await dbFactory.CreateDbContextAsync();
        db.Checkpoints.Attach(row);
        try
        {
            var written = store.Write(CheckpointService.RunFolder(run.RunId), name, snapshot, new CheckpointLineage(run.RunId, run.ParentRunId, run.ParentCheckpointId));
            row.Path = written.RelativePath;
            row.SizeBytes = written.SizeBytes;
            row.Sha256 = written.Sha256;
            row.Status = CheckpointStatus.Durable;
        }
        catch (Exception e)
        {
            // The store has removed the unfinished folder. On a full disk nothing was written at all, so nothing is
            // corrupt; the row says the files are not there.
            row.Status = CheckpointStore.IsDiskFull(e) ? CheckpointStatus.Missing : CheckpointStatus.Corrupt;
            await db.SaveChangesAsync();
            await _writeFailed.CancelAsync();
            throw;
        }

        await db.SaveChangesAsync();
        broadcaster.Publish(new CheckpointSavedEvent(run.RunId, CheckpointDto.From(row)));
        await checkpoints.ApplyRetentionAsync(run.RunId, run.Config.Checkpoint);
    }
}

/// <summary>What the executor knows of the run it trains.</summary>
public sealed record RunContext(int RunId, TrainingConfig Config, int? ParentRunId, int? ParentCheckpointId);

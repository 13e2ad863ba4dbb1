using System.Text.Json;
using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Training;
using Dashboard.Web.Contracts;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Web.Services;

/// <summary>
/// Turns one run's engine events into rows and broadcasts: persistence first, so anything a client hears about can be
/// fetched again over the API.
/// </summary>
public sealed class PersistingObserver(
    int runId,
    int targetEpochs,
    IDbContextFactory<DashboardDbContext> dbFactory,
    CheckpointStore store,
    TrainingEventBroadcaster broadcaster) : ITrainingObserver
{
    private int _batchesPerEpoch;

    public async ValueTask OnStartedAsync(RunStartInfo info, CancellationToken cancellationToken)
    {
        _batchesPerEpoch = info.BatchesPerEpoch;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);

        // Epochs past the checkpoint being resumed were lost with the process that ran them; they are about to be
        // trained again, and the curve must show the replay, not both.
        await db.EpochMetrics.Where(m => m.RunId == runId && m.Epoch >= info.StartEpoch).ExecuteDeleteAsync(cancellationToken);
        var best = await db.EpochMetrics.Where(m => m.RunId == runId).OrderBy(m => m.ValLoss).FirstOrDefaultAsync(cancellationToken);
        await db.Runs.Where(r => r.Id == runId).ExecuteUpdateAsync(
            s => s.SetProperty(r => r.Device, info.Device)
                .SetProperty(r => r.CurrentEpoch, info.StartEpoch - 1)
                .SetProperty(r => r.BestValLoss, best == null ? null : best.ValLoss)
                .SetProperty(r => r.BestValLossEpoch, best == null ? null : best.Epoch),
            cancellationToken);
    }

    public void OnProgress(BatchProgress progress)
    {
        var batchesPerSecond = progress.Batch / Math.Max(progress.EpochElapsedMs / 1000, 1e-9);
        var remainingBatches = (progress.BatchCount - progress.Batch) + ((long)(targetEpochs - progress.Epoch) * _batchesPerEpoch);
        broadcaster.Publish(new ProgressEvent(
            runId,
            new ProgressDto(progress.Epoch, targetEpochs, progress.Batch, progress.BatchCount, progress.SamplesPerSecond, remainingBatches / batchesPerSecond)));
    }

    public async ValueTask OnEpochCompletedAsync(EpochMetrics metrics, CancellationToken cancellationToken)
    {
        var row = new EpochMetric
        {
            RunId = runId,
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
        var run = await db.Runs.SingleAsync(r => r.Id == runId, cancellationToken);
        run.CurrentEpoch = metrics.Epoch;
        if (run.BestValLoss is null || metrics.ValLoss < run.BestValLoss)
        {
            run.BestValLoss = metrics.ValLoss;
            run.BestValLossEpoch = metrics.Epoch;
        }

        await db.SaveChangesAsync(cancellationToken);
        broadcaster.Publish(new EpochCompletedEvent(runId, MetricDto.From(row)));
    }

    public async ValueTask OnCheckpointAsync(CheckpointSnapshot snapshot, CancellationToken cancellationToken)
    {
        var position = snapshot.Position;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var row = new Checkpoint
        {
            RunId = runId,
            Epoch = position.CompletedEpochs,
            Step = position.GlobalStep,
            MetricsJson = JsonSerializer.Serialize(snapshot.Metrics, JsonDefaults.Options),
            Path = "",
            Kind = snapshot.Kind,
            Status = CheckpointStatus.Writing,
            CreatedAt = DateTime.UtcNow,
        };
        db.Checkpoints.Add(row);
        await db.SaveChangesAsync(cancellationToken);

        var name = position.BatchInEpoch == 0
            ? $"epoch{position.CompletedEpochs:D3}-{snapshot.Kind}"
            : $"epoch{position.CompletedEpochs:D3}-batch{position.BatchInEpoch}-{snapshot.Kind}";
        try
        {
            var written = await Task.Run(() => store.Write(RunFolder(runId), name, snapshot), cancellationToken);
            row.Path = written.RelativePath;
            row.SizeBytes = written.SizeBytes;
            row.Sha256 = written.Sha256;
            row.Status = CheckpointStatus.Durable;
        }
        catch
        {
            row.Status = CheckpointStatus.Corrupt;
            await db.SaveChangesAsync(CancellationToken.None);
            throw;
        }

        await db.SaveChangesAsync(cancellationToken);
        broadcaster.Publish(new CheckpointSavedEvent(runId, CheckpointDto.From(row)));
    }

    public static string RunFolder(int runId) => $"run-{runId:D6}";
}

using System.Text.Json;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Policies;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Resilience;
using Microsoft.EntityFrameworkCore;

namespace Dashboard.Runs.Execution;

/// <summary>
/// Checkpoints: a row saying "writing", the files, then the row saying what became of them. Each row write is repeated
/// while the database is away (<see cref="DatabaseRetry"/>) and is idempotent, so a repeat after a commit whose
/// acknowledgement was lost leaves one row per checkpoint; the files are written once, outside any transaction.
/// </summary>
public sealed partial class PersistingObserver
{
    public async ValueTask OnCheckpointAsync(CheckpointSnapshot snapshot, CancellationToken cancellationToken)
    {
        // Back-pressure, bounded by what the snapshots waiting to be written hold in memory; a failed write fails the run
        // here rather than going unnoticed. While the database is away the rows cannot be written, so at most two
        // snapshots wait here and training then waits too (for at most Training:DatabaseRetrySeconds).
        var bytes = CheckpointWriteQueue.SizeOf(snapshot);
        var waiting = PersistenceTimings.Start();
        await _checkpointWrites.WaitForRoomAsync(bytes);
        _timings.Add(PersistenceTimings.Part.CheckpointWait, waiting);
        var started = PersistenceTimings.Start();

        // Steps up to a checkpoint are stored before its row, so resuming from it never leaves a gap in the per-step
        // curve. Both happen on the background write, in that order: the training thread hands them over and goes on
        // with the next batch instead of waiting for the database.
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

        // Locals, read by the query as fields (see _runId).
        var (epoch, step, kind) = (position.CompletedEpochs, position.GlobalStep, snapshot.Kind);
        Checkpoint? row = null;
        var started = PersistenceTimings.Start();
        await FencedAsync($"recording the checkpoint at step {step} of run {run.RunId}", async db =>
        {
            // Checkpoints are written one at a time and each ends its row before the next starts, so a row of this run
            // still writing at this very position can only be this one, inserted by an attempt whose commit went through
            // unacknowledged: it goes, and one row stands for the checkpoint. (A previous holder's are settled on take-over.)
            await db.Checkpoints.Where(c => c.RunId == _runId && c.Status == CheckpointStatus.Writing
                    && c.Epoch == epoch && c.Step == step && c.Kind == kind)
                .ExecuteDeleteAsync();

            // A fresh entity per attempt: a failed attempt may have given the last one a key.
            row = new Checkpoint
            {
                RunId = run.RunId,
                Epoch = epoch,
                Step = step,
                MetricsJson = JsonSerializer.Serialize(snapshot.Metrics, JsonDefaults.Options),
                Path = "",
                Kind = kind,
                Status = CheckpointStatus.Writing,
                CreatedAt = DateTime.UtcNow,
            };
            db.Checkpoints.Add(row);
            await db.SaveChangesAsync();
        });
        _timings.Add(PersistenceTimings.Part.CheckpointRows, started);
        return row!;
    }

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
        // Naming is inside the try as much as writing: any failure must end the row and the run, never leave the row
        // writing while training goes on into the same failure at every checkpoint.
        try
        {
            var name = CheckpointName(snapshot);
            var writing = PersistenceTimings.Start();
            WrittenCheckpoint written;
            try
            {
                written = store.Write(CheckpointStore.RunFolder(run.RunId), name, snapshot, new CheckpointLineage(run.RunId, run.ParentRunId, run.ParentCheckpointId, run.DataSha256));
            }
            finally
            {
                // The files hold the bytes now (or the write failed for good) and nothing here reads the snapshot again:
                // the trainer copies its next snapshot into these arrays instead of into fresh memory.
                snapshot.ReleaseBuffers();
            }

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
            try
            {
                await SettleRowAsync(row);
            }
            finally
            {
                await _writeFailed.CancelAsync();
            }

            throw;
        }

        // The files are in place under a new name; the row that makes them the run's is written only while this process
        // still holds the run. Taken over meanwhile, the folder is removed and the row stays writing until the new holder
        // settles it. Setting the same values twice is harmless, so a repeat after a lost
        // acknowledgement changes nothing; given up on, the run fails with the row still writing, and the next holder
        // settles it as missing (the folder then is an orphan, never a second row).
        var updating = PersistenceTimings.Start();
        try
        {
            await SettleWrittenCheckpointAsync(row);
        }
        catch
        {
            await _writeFailed.CancelAsync();
            throw;
        }

        _timings.Add(PersistenceTimings.Part.CheckpointRows, updating);
        broadcaster.Publish(new CheckpointSavedEvent(run.RunId, CheckpointDto.From(row)));
        runLog.Info(run.RunId, $"Wrote {row.Kind} checkpoint #{row.Id} at epoch {row.Epoch}, step {row.Step} ({CheckpointStore.FormatBytes(row.SizeBytes)}).");
        var retaining = PersistenceTimings.Start();
        await retry.RunAsync($"applying the checkpoint retention of run {run.RunId}", () => checkpoints.ApplyRetentionAsync(run.RunId, run.Config.Checkpoint));
        _timings.Add(PersistenceTimings.Part.Retention, retaining);
    }

    /// <summary>Writes what became of the checkpoint's files into its row (by key, so a repeat sets the same values).</summary>
    private Task SettleRowAsync(Checkpoint row)
    {
        // Locals, read by the query as fields (see _runId).
        var (id, path, sizeBytes, sha256, status) = (row.Id, row.Path, row.SizeBytes, row.Sha256, row.Status);
        return FencedAsync($"recording checkpoint #{id} of run {run.RunId}", db => db.Checkpoints.Where(c => c.Id == id)
            .ExecuteUpdateAsync(u => u
                .SetProperty(c => c.Path, path)
                .SetProperty(c => c.SizeBytes, sizeBytes)
                .SetProperty(c => c.Sha256, sha256)
                .SetProperty(c => c.Status, status)));
    }
}

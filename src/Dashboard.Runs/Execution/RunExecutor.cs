using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Training;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Logging;
using Dashboard.Runs.Options;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Dashboard.Runs.Execution;

/// <summary>Trains one queued run to its end: status changes, the engine call, and what its outcome means.</summary>
public sealed class RunExecutor(
    IDbContextFactory<DashboardDbContext> dbFactory,
    Trainer trainer,
    CheckpointStore store,
    CheckpointLoader loader,
    DatasetRegistry datasets,
    CheckpointMaintenance maintenance,
    RunQueue queue,
    TrainingEventBroadcaster broadcaster,
    RunLog runLog,
    IOptions<TrainingOptions> options,
    IOptions<WorkerOptions> worker,
    ILogger<RunExecutor> logger)
{
    public async Task ExecuteAsync(int runId, CancellationToken hostStopping)
    {
        // Taken first, whatever happens next, so a run that no longer trains does not leave its start held in memory.
        var handed = queue.TakeStart(runId);
        Run? run;
        await using (var db = await dbFactory.CreateDbContextAsync(CancellationToken.None))
        {
            run = await db.Runs.AsNoTracking().SingleOrDefaultAsync(r => r.Id == runId, CancellationToken.None);
        }

        // Stopped while it waited, or queued twice (a restart re-queues what a resume already queued).
        if (run is null || run.Status != RunStatus.Queued)
        {
            return;
        }

        // A second copy of the same queued run, dequeued while the first holds its slot, leaves it to the first. This is no
        // exception: with several slots a double enqueue can get here twice at once.
        if (queue.TryActivate(runId) is not { } active)
        {
            return;
        }

        PersistingObserver? observer = null;
        (string Status, string? Error)? ending = null;
        try
        {
            var config = RunConfigCodec.Read(run.ConfigJson)
                ?? throw new InvalidOperationException($"Run {runId} has no configuration.");
            var device = DeviceSelector.Resolve(options.Value.Device);
            var threads = TorchThreading.EnsureConfigured(options.Value.TorchThreads, options.Value.MaxConcurrentRuns);
            var (resumeFrom, initFrom, resumeFromId) = await FindStartAsync(run, config, handed);

            // What it held is the start now, or was not the start: either way this method must not keep it alive past here.
            handed = null;
            if (!await ClaimAsync(runId, device, resumeFromId))
            {
                return; // stopped between being dequeued and now
            }

            logger.LogInformation("Run {RunId} trains on {Device} with {Threads} torch thread(s) per operation.", runId, device, threads);
            runLog.Info(runId, $"Started on {device} with {threads} torch thread(s) per operation, on host {Environment.MachineName}.");
            LogStart(runId, resumeFrom, initFrom, resumeFromId, run.ParentCheckpointId);
            var dataSha256 = datasets.TryGet(config.Dataset, out var source) ? source.DataSha256() : null;
            if ((resumeFrom ?? initFrom) is { } start
                && DataDrift.Warning(start.Manifest, resumeFrom is null ? run.ParentCheckpointId : resumeFromId, config.Dataset, dataSha256) is { } drift)
            {
                runLog.Warning(runId, drift);
            }

            observer = new PersistingObserver(new RunContext(runId, config, run.ParentRunId, run.ParentCheckpointId, dataSha256), dbFactory, store, maintenance, broadcaster, runLog);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(active.StopRequested, hostStopping, observer.WriteFailed);
            var outcome = await Task.Run(
                () => trainer.RunAsync(new TrainingRequest(config, device, resumeFrom, active, initFrom), observer, linked.Token),
                CancellationToken.None);
            await observer.DrainAsync();

            var status = outcome switch
            {
                TrainingOutcome.Completed or TrainingOutcome.EarlyStopped => RunStatus.Completed,
                _ when active.StopRequested.IsCancellationRequested => RunStatus.Stopped,
                _ => RunStatus.Interrupted,
            };
            LogOutcome(runId, outcome, status, config);
            ending = (status, null);
        }
        catch (CheckpointStorageFullException e)
        {
            // Not the run's fault, and not worth retrying by itself: it pauses with what it had saved, and resumes from
            // its newest durable checkpoint once someone has made room. Stopped, not interrupted, so a restart does not
            // resume it into the same full disk.
            logger.LogWarning("Run {RunId} stopped: {Message}", runId, e.Message);
            runLog.Warning(runId, $"Stopped: {e.Message}");
            await SettleAsync(observer);
            ending = (RunStatus.Stopped, e.Message);
        }
        catch (Exception e)
        {
            logger.LogError(e, "Run {RunId} failed.", runId);
            runLog.Error(runId, $"Failed: {e.Message}", e);
            await SettleAsync(observer);
            ending = (RunStatus.Failed, e.Message);
        }
        finally
        {
            observer?.Dispose();

            // The slot is given up before the ending is stored: once the row says the run has ended, a resume may queue it
            // again at once, and with a free slot it is dequeued at once. Were it still active then, that job would be
            // dropped and the run left queued for good.
            queue.Deactivate(runId, active);
            active.Dispose();
        }

        if (ending is { } end)
        {
            await SetStatusAsync(runId, end.Status, end.Error);
        }
    }

    /// <summary>Where the run's weights come from, in its log.</summary>
    private void LogStart(int runId, LoadedCheckpoint? resumeFrom, LoadedCheckpoint? initFrom, int? resumeFromId, int? parentCheckpointId)
    {
        if (resumeFrom is not null)
        {
            var position = resumeFrom.Manifest.Position;
            var what = resumeFromId == parentCheckpointId && resumeFrom.Manifest.Lineage?.RunId != runId ? "Branched" : "Resumed";
            runLog.Info(runId, $"{what} from checkpoint #{resumeFromId} at epoch {position.CompletedEpochs}, step {position.GlobalStep}.");
        }
        else if (initFrom is not null)
        {
            runLog.Info(runId, $"Fine-tuning from the weights of checkpoint #{parentCheckpointId} (epoch {initFrom.Manifest.Position.CompletedEpochs} of run #{initFrom.Manifest.Lineage?.RunId}).");
        }
    }

    /// <summary>How training ended, in the run's log; the reason a stop was asked for is the stop's own line.</summary>
    private void LogOutcome(int runId, TrainingOutcome outcome, string status, TrainingConfig config)
    {
        switch (outcome)
        {
            case TrainingOutcome.EarlyStopped:
                var stopping = config.EarlyStopping!;
                runLog.Info(runId, $"Stopped early: {stopping.Monitor} did not improve for {stopping.Patience} epoch(s). Completed.");
                break;
            case TrainingOutcome.Completed:
                runLog.Info(runId, $"Completed all {config.Epochs} epochs.");
                break;
            default:
                if (status == RunStatus.Stopped)
                {
                    runLog.Info(runId, "Stopped on request after the current batch.");
                }
                else
                {
                    runLog.Warning(runId, "Interrupted: the dashboard is shutting down; the run resumes from its newest checkpoint when it starts again.");
                }

                break;
        }
    }

    /// <summary>Lets a write in flight settle, so its row is durable, corrupt or missing and never left writing.</summary>
    private static async Task SettleAsync(PersistingObserver? observer)
    {
        if (observer is not null)
        {
            await observer.DrainAsync().ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    /// <summary>
    /// A run continues exactly from its newest durable checkpoint when that is newer than the start recorded when it was
    /// queued. Otherwise it starts where it was queued to: a resume from that checkpoint, a branch exactly from its parent,
    /// a fine-tune from the parent's weights; a run without one starts from scratch. A recorded start that is gone fails
    /// the run, rather than training from an older checkpoint and replacing the metrics past it. The files are read and
    /// verified here unless <paramref name="handed"/> holds that very checkpoint, as the launcher verified it.
    /// </summary>
    private async Task<(LoadedCheckpoint? ResumeFrom, LoadedCheckpoint? InitFrom, int? ResumeFromId)> FindStartAsync(
        Run run, TrainingConfig config, VerifiedCheckpoint? handed)
    {
        async Task<LoadedCheckpoint> LoadAsync(int checkpointId) =>
            handed?.CheckpointId == checkpointId ? handed.Loaded : await loader.LoadAsync(checkpointId);

        await using var db = await dbFactory.CreateDbContextAsync();
        var own = await CheckpointQueries.NewestDurableIdAsync(db, run.Id, CancellationToken.None);

        // Runs queued before starts were recorded: a branch's start is its parent.
        var startId = run.StartCheckpointId ?? run.ParentCheckpointId;
        if (own is { } ownId && (startId is null || ownId > startId))
        {
            return (await LoadAsync(ownId), null, ownId);
        }

        if (startId is not { } id)
        {
            return (null, null, null);
        }

        var start = await db.Checkpoints.AsNoTracking().SingleAsync(c => c.Id == id);
        if (start.Status != CheckpointStatus.Durable)
        {
            throw new InvalidOperationException(
                $"Run {run.Id} was queued to start from checkpoint {id}, which is now {start.Status}; it did not train from any other. "
                + "Resume it from another checkpoint.");
        }

        var loaded = await LoadAsync(id);
        return start.RunId == run.Id || config.FineTune is null ? (loaded, null, id) : (null, loaded, null);
    }

    /// <summary>
    /// Queued → running, only if it is still queued: a stop that got there first wins. Records what the start continues
    /// from, so a resume that retrained from scratch would show.
    /// </summary>
    private async Task<bool> ClaimAsync(int runId, string device, int? resumeFromId)
    {
        await using var db = await dbFactory.CreateDbContextAsync();
        var now = DateTime.UtcNow;
        var claimed = await db.Runs
            .Where(r => r.Id == runId && r.Status == RunStatus.Queued)
            .ExecuteUpdateAsync(u => u
                .SetProperty(r => r.Status, RunStatus.Running)
                .SetProperty(r => r.Device, device)
                .SetProperty(r => r.Worker, worker.Value.EffectiveName)
                .SetProperty(r => r.ResumedFromCheckpointId, resumeFromId)
                .SetProperty(r => r.Error, (string?)null)
                .SetProperty(r => r.FinishedAt, (DateTime?)null)
                .SetProperty(r => r.StartedAt, r => r.StartedAt ?? now));
        if (claimed == 1)
        {
            broadcaster.Publish(new RunStatusChangedEvent(runId, RunStatus.Running));
        }

        return claimed == 1;
    }

    /// <summary>Records how a run ended.</summary>
    private async Task SetStatusAsync(int runId, string status, string? error)
    {
        await using var db = await dbFactory.CreateDbContextAsync();
        var run = await db.Runs.SingleAsync(r => r.Id == runId);
        run.Status = status;
        run.Error = error;
        run.FinishedAt = DateTime.UtcNow;
        await db.SaveChangesAsync();
        broadcaster.Publish(new RunStatusChangedEvent(runId, status));
    }
}

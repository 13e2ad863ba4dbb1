using Dashboard.Data;
using Dashboard.Data.Entities;
using Dashboard.Engine.Checkpoints;
using Dashboard.Engine.Configuration;
using Dashboard.Engine.Datasets;
using Dashboard.Engine.Models;
using Dashboard.Engine.Training;
using Dashboard.Engine.Weights;
using Dashboard.Runs.Checkpoints;
using Dashboard.Runs.Contracts;
using Dashboard.Runs.Events;
using Dashboard.Runs.Logging;
using Dashboard.Runs.Options;
using Dashboard.Runs.Resilience;
using Dashboard.Runs.Weights;
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
    RunLease lease,
    TrainingEventBroadcaster broadcaster,
    RunLog runLog,
    WeightsLibrary weights,
    ModelRegistry models,
    IOptions<TrainingOptions> options,
    DatabaseRetry retry,
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

        // Stopped while it waited, or queued twice (a restart re-queues what a resume already queued). A running run is
        // taken only when its holder stopped renewing its lease: the job engine handed a dead worker's job over.
        if (run is null || !lease.IsFree(run))
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
        long? token = null;
        using var lost = new CancellationTokenSource();
        using var beating = new CancellationTokenSource();
        var heartbeat = Task.CompletedTask;
        try
        {
            var config = RunConfigCodec.Read(run.ConfigJson)
                ?? throw new InvalidOperationException($"Run {runId} has no configuration.");
            var device = DeviceSelector.Resolve(options.Value.Device);
            var threads = TorchThreading.EnsureConfigured(options.Value.TorchThreads, options.Value.MaxConcurrentRuns);
            var (resumeFrom, initFrom, resumeFromId) = await FindStartAsync(run, config, handed);

            // What it held is the start now, or was not the start: either way this method must not keep it alive past here.
            handed = null;
            token = await ClaimAsync(runId, device, resumeFromId);
            if (token is not { } held)
            {
                return; // stopped between being dequeued and now, or taken by another worker first
            }

            active.Started();

            heartbeat = lease.KeepAsync(runId, held, active, lost, beating.Token);

            logger.LogInformation("Run {RunId} trains on {Device} with {Threads} torch thread(s) per operation.", runId, device, threads);
            runLog.Info(runId, $"Started on {device} with {threads} torch thread(s) per operation, on host {Environment.MachineName}.");
            LogStart(runId, resumeFrom, initFrom, resumeFromId, run.ParentCheckpointId);
            var dataSha256 = datasets.TryGet(config.Dataset, out var source) ? source.DataSha256() : null;
            if ((resumeFrom ?? initFrom) is { } start
                && DataDrift.Warning(start.Manifest, resumeFrom is null ? run.ParentCheckpointId : resumeFromId, config.Dataset, dataSha256) is { } drift)
            {
                runLog.Warning(runId, drift);
            }

            if ((resumeFrom ?? initFrom) is { } continued && PluginBuildCheck.Difference(continued.Manifest.ModelSpec, models) is { } otherBuild)
            {
                runLog.Warning(runId, otherBuild);
            }

            var initialWeights = resumeFrom is null && initFrom is null ? InitialWeights(runId, config) : null;
            observer = new PersistingObserver(new RunContext(runId, config, run.ParentRunId, run.ParentCheckpointId, dataSha256, held), dbFactory, store, maintenance, broadcaster, runLog, retry);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(active.StopRequested, hostStopping, observer.WriteFailed, lost.Token);
            var outcome = await TorchThread.RunAsync(
                $"train run {runId}",
                () => trainer.RunAsync(new TrainingRequest(config, device, resumeFrom, active, initFrom, initialWeights), observer, linked.Token));
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
        catch (Exception e) when (observer?.Fenced == true || lost.IsCancellationRequested || e is RunFencedException)
        {
            // Another process took the run over: it is that one's to record now, so this one writes nothing, not even an ending.
            logger.LogWarning("Run {RunId}: this process lost its lease and stopped; another worker continues the run. ({Message})", runId, e.Message);
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
            // First, so that a system sample being published now is out before the ending is announced below.
            active.Ending();
            await beating.CancelAsync();
            await heartbeat;
            observer?.Dispose();

            // The slot is given up before the ending is stored: once the row says the run has ended, a resume may queue it
            // again at once, and with a free slot it is dequeued at once. Were it still active then, that job would be
            // dropped and the run left queued for good.
            queue.Deactivate(runId, active);
            active.Dispose();
        }

        if (observer?.Fenced == true || lost.IsCancellationRequested)
        {
            logger.LogWarning("Run {RunId}: this process lost its lease; its ending is not recorded, the new holder's is.", runId);
        }
        else if (ending is { } end)
        {
            // Its log lines so far (how it ended) are stored and sent first, so a client may take the final status as the
            // run's last event. Failed before it was taken (its start checkpoint gone): recorded unless another process
            // took it meanwhile.
            await runLog.FlushAsync();
            await SetStatusAsync(runId, token ?? run.LeaseToken, end.Status, end.Error);
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

    /// <summary>The uploaded weights a new run starts from (checked again: the file is read, not trusted), logged with the match.</summary>
    private Action<TorchSharp.torch.nn.Module<TorchSharp.torch.Tensor, TorchSharp.torch.Tensor>>? InitialWeights(int runId, TrainingConfig config)
    {
        if (config.InitialWeights is not { } initial)
        {
            return null;
        }

        var contents = weights.Load(initial.Id);
        var frozen = initial.Freeze.Count == 0 ? "nothing frozen" : $"frozen: {string.Join(", ", initial.Freeze)}";
        runLog.Info(runId, $"Starting from weights {initial.Sha256[..12]}… ({initial.Format}): {initial.Matched} tensor(s) matched and copied, "
            + $"{initial.Missing} missing and {initial.ShapeMismatches} of another shape left at their seeded init, {initial.Unexpected} unexpected ignored; {frozen}.");
        return model => WeightsMatcher.CopyMatched(model, contents.Tensors);
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
    /// Takes the run (<see cref="RunLease.TakeAsync"/>): queued → running, only if it is still queued, so a stop that got
    /// there first wins; or a dead holder's run taken over. Records what the start continues from, so a resume that
    /// retrained from scratch would show. Returns this process's fencing token, null when the run was not taken.
    /// </summary>
    private async Task<long?> ClaimAsync(int runId, string device, int? resumeFromId)
    {
        var token = await lease.TakeAsync(runId, device, resumeFromId);
        if (token is not null)
        {
            broadcaster.Publish(new RunStatusChangedEvent(runId, RunStatus.Running));

            // The token moved on, so every earlier holder's writes fail now: a temporary folder in the run's folder is a
            // write that will never finish (a worker killed mid-write; start-up leaves them alone in distributed mode).
            foreach (var torn in store.RemoveTornWrites(CheckpointStore.RunFolder(runId)))
            {
                logger.LogWarning("Run {RunId}: removed {Folder}, a checkpoint write an earlier holder never finished.", runId, torn);
                runLog.Warning(runId, $"Removed {torn}: a checkpoint write an earlier holder of the run never finished.");
            }
        }

        return token;
    }

    /// <summary>Records how a run ended, only while this process still holds it (<paramref name="token"/>).</summary>
    private async Task SetStatusAsync(int runId, long token, string status, string? error)
    {
        // Waits out a database that is away as the run's writes do; repeating it sets the same values.
        var now = DateTime.UtcNow;
        var recorded = await retry.RunAsync($"recording how run {runId} ended", async () =>
        {
            await using var db = await dbFactory.CreateDbContextAsync();
            return await db.Runs.Where(r => r.Id == runId && r.LeaseToken == token)
                .ExecuteUpdateAsync(u => u
                    .SetProperty(r => r.Status, status)
                    .SetProperty(r => r.Error, error)
                    .SetProperty(r => r.FinishedAt, now)
                    .SetProperty(r => r.StopRequested, false));
        });
        if (recorded == 1)
        {
            broadcaster.Publish(new RunStatusChangedEvent(runId, status));
        }
        else
        {
            logger.LogWarning("Run {RunId} ended here as {Status}, but another process holds it now; not recorded.", runId, status);
        }
    }
}
